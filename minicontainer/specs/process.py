"""What a process is given, as `run` and `exec` take it: environment variables (-e, Docker's
rules) and a working directory (-w). Pure, but for reading the caller's environment for `-e KEY`."""

from __future__ import annotations

import os
from collections.abc import Mapping

from minicontainer.errors import DaemonError, MCError


def parse_env(items: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """-e KEY=VALUE as given; -e KEY takes the caller's value, or is dropped if unset (as Docker does)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    out = []
    for item in items:
        key, eq, _value = item.partition("=")
        if not key:
            raise MCError(f"invalid environment variable: {item}", 125)
        if eq:
            out.append(item)
        elif key in env:
            out.append(f"{key}={env[key]}")
    return out


def merge_env(base: list[str], overrides: list[str]) -> list[str]:
    """Later KEY=VALUE entries replace earlier ones with the same key, keeping first-seen order."""
    merged: dict[str, str] = {}
    for item in base + overrides:
        key = item.partition("=")[0]
        merged[key] = item
    return list(merged.values())


def check_workdir(workdir: str, exit_code: int = 125) -> None:
    if workdir and not workdir.startswith("/"):
        raise DaemonError(f"the working directory '{workdir}' is invalid, it needs to be an absolute path", exit_code)
