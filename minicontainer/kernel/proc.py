"""Is a recorded process still the same process? A pid alone is not enough: pids are reused.

We record (pid, start time in clock ticks since boot, field 22 of /proc/<pid>/stat) when a process
starts and compare both later. Reading two fields of /proc/<pid>/stat costs microseconds; importing
psutil for the same answer costs ~13 ms on every `run`, so the hot path does not use it (the tests
and the benchmark use psutil to look at processes from the outside).
"""

from __future__ import annotations

import os


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    return data[data.rfind(b")") + 2:].decode().split()


def start_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return int(fields[19])


def is_alive(pid: int, start: int) -> bool:
    """True if pid is still the process that started at `start` ticks, and not a zombie."""
    if not pid:
        return False
    fields = _stat_fields(pid)
    return fields is not None and int(fields[19]) == start and fields[0] not in ("Z", "X")


def open_pidfd(pid: int, start: int) -> int | None:
    """A pidfd for the recorded process, or None if it is gone. Checking identity *after* opening
    the pidfd closes the race: the fd keeps pointing at that process even if the pid is reused."""
    if not pid:
        return None
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, ValueError):
        return None
    if not is_alive(pid, start):
        os.close(fd)
        return None
    return fd


def wait_pidfd(fd: int, timeout: float | None) -> bool:
    """Wait until the process behind fd exits; True if it did within timeout."""
    import select
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if timeout is None else int(timeout * 1000)))


def in_mount_namespace(inode: int) -> list[int]:
    """The processes whose mount namespace is the one with this inode."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/mnt").st_ino == inode:
                    found.append(int(entry))
            except OSError:  # gone meanwhile, or a kernel thread
                continue
    return found


def kill_mount_namespace(inode: int, rounds: int = 50) -> None:
    """SIGKILL every process of a mount namespace, again until none is left (one may fork while
    we look): what the end of a pid namespace does for a container that has none of its own."""
    import signal
    import time
    for _ in range(rounds):
        pids = in_mount_namespace(inode)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
