"""Crash points, for the tests that kill a command or a supervisor at every step of its work.

The runtime calls checkpoint("what was just done") between the steps that change the host. In normal
use that is one attribute test and nothing else. With MINICONTAINER_CHECKPOINTS=FILE set, each
process appends "ROLE N LABEL" to FILE at each checkpoint (so a test learns how many steps there are);
with MINICONTAINER_CRASH_AT=ROLE:N the process of that role kills itself with SIGKILL at its Nth
checkpoint, as `kill -9` would at that moment. Roles: "command" (the CLI process, which is also the
supervisor of a foreground `run`) and "supervisor" (a detached one, from `run -d` and `start`).
"""

from __future__ import annotations

import os
import signal

_log = os.environ.get("MINICONTAINER_CHECKPOINTS", "")
_crash = os.environ.get("MINICONTAINER_CRASH_AT", "")
_armed = bool(_log or _crash)
_role = "command"
_count = 0


def become(role: str) -> None:
    """This process now plays `role` and counts its checkpoints from one again."""
    global _role, _count
    _role, _count = role, 0


def checkpoint(label: str) -> None:
    global _count
    if not _armed:
        return
    _count += 1
    if _log:
        with open(_log, "a") as f:
            f.write(f"{_role} {_count} {label}\n")
    if _crash == f"{_role}:{_count}":
        os.kill(os.getpid(), signal.SIGKILL)


def carried() -> tuple[str, int]:
    """Role and count, for a process that execs and goes on counting (the supervisor's monitor)."""
    return _role, _count


def carry_on(role: str, count: int) -> None:
    global _role, _count
    _role, _count = role, count
