"""--filter KEY=VALUE, as the docker CLI and daemon read them: the same key given twice means
either value, different keys must all match."""

from __future__ import annotations

from minicontainer.errors import DaemonError, UsageError


def parse_filters(values: list[str], allowed: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in values:
        key, eq, arg = value.partition("=")
        if not eq:
            raise UsageError("bad format of filter (expected name=value)")
        key = key.strip().lower()
        if key not in allowed:
            raise DaemonError(f"invalid filter '{key}'", 1)
        out.setdefault(key, []).append(arg)
    return out


def label_matches(labels: dict, wanted: str) -> bool:
    """label=KEY or label=KEY=VALUE."""
    key, eq, value = wanted.partition("=")
    return key in labels and (not eq or labels[key] == value)
