"""The record of running traces: an empty file <root>/traces/<table> for each marking table, made
before the table, so that the next command after a killed trace removes it. The table's name says
its owner (minicontainer_trace_<pid>_<start>). Every command's recover() sweeps, so this module
imports nothing more until there is something to clean."""

from __future__ import annotations

import os

PREFIX = "minicontainer_trace_"


def table_name(pid: int, start: int) -> str:
    return f"{PREFIX}{pid}_{start}"


def _dir(root_lib: str) -> str:
    return os.path.join(root_lib, "traces")


def record(root_lib: str, table: str) -> str:
    """Note the table before it is made; returns the marker's path (removed with the table)."""
    os.makedirs(_dir(root_lib), exist_ok=True)
    path = os.path.join(_dir(root_lib), table)
    open(path, "w").close()
    return path


def sweep(root_lib: str) -> None:
    """Remove the marking tables of traces whose process died."""
    try:
        entries = os.listdir(_dir(root_lib))
    except FileNotFoundError:
        return
    from minicontainer.kernel import proc
    for entry in entries:
        pid, _, start = entry.removeprefix(PREFIX).partition("_")
        if not (entry.startswith(PREFIX) and pid.isdigit() and start.isdigit()):
            continue
        if not proc.is_alive(int(pid), int(start)):
            import subprocess
            subprocess.run(["nft", "delete", "table", "ip", entry], capture_output=True)
            os.unlink(os.path.join(_dir(root_lib), entry))
