"""The trace: every step a container's start applied, written down as it is applied.

A start runs in up to three processes (the command that brings a network up, the supervisor that
wires the host side, the child that builds the container's view), so the trace is a file of JSON
lines opened with O_APPEND before they fork: each applied step adds one line, whoever applied it.
`explain CONTAINER` and `run --explain` render it as a shell script (show/script.py).

Each line says where the command belongs (the phase):
  network    host side, before the container exists: the bridge and its firewall rules (first use)
  files      host side: the container's directories and /etc files, volume and bind sources
  unshare    the new namespaces the container's process gets (and any it joins)
  container  inside those namespaces, before the command: mounts, pivot_root, hostname
  host       host side, once the namespaces exist: veth, /run/netns name, published ports
  exec       the command itself
  started    the container's pid, once it runs; failed: the error, if the start did not get there
  changed    what a later `network connect` or `disconnect` did while it ran (each line names it)
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

_fd: int | None = None
_phase = "host"


def record_to(path: str) -> None:
    """Start a new trace at path (a restart replaces the previous one)."""
    global _fd
    stop()
    _fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o644)


def stop() -> None:
    global _fd
    if _fd is not None:
        os.close(_fd)
        _fd = None


@contextmanager
def phase(name: str):
    global _phase
    old, _phase = _phase, name
    try:
        yield
    finally:
        _phase = old


def set_phase(name: str) -> None:
    """For the forked child, which never returns to the caller's phase."""
    global _phase
    _phase = name


def entry(step, where: str | None = None) -> dict:
    """A step as a trace line: its phase, why it exists, its commands (one per line)."""
    return {"phase": where or _phase, "step": type(step).__name__, "why": step.why, "sh": step.explain()}


def unshare_line(kinds: list[str], joins: dict[str, int], host_pid: bool = False) -> dict:
    """The namespaces a container's process unshares, and those it joins (kind -> that process's pid);
    host_pid: it keeps the host's pid namespace (otherwise the supervisor gives it a new one)."""
    line: dict = {"phase": "unshare", "kinds": kinds}
    if host_pid:
        line["pid"] = "host"
    if joins:
        line["join"] = {kind: f"/proc/{pid}/ns/{kind}" for kind, pid in joins.items()}
    return line


def exec_line(launch) -> dict:
    """What the container's pid 1 runs (a spawn.Launch)."""
    line = {"phase": "exec", "argv": launch.argv, "env": launch.env, "cwd": launch.cwd, "user": launch.user}
    if launch.security is not None:
        line["security"] = launch.security.trace()
    if launch.ulimits:
        line["ulimits"] = launch.ulimits
    return line


def write(line: dict) -> None:
    if _fd is not None:
        os.write(_fd, (json.dumps(line) + "\n").encode())  # one write per line: O_APPEND keeps lines whole


def applied(step) -> None:
    """Called right after a step's do() succeeded."""
    if _fd is not None:
        write(entry(step))


def append(path: str, lines: list[dict]) -> None:
    """Add lines to a trace that is not being recorded by this process (a connect to a running container)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        for line in lines:
            os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)


def read(path: str) -> list[dict]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
