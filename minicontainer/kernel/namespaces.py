"""Namespace steps: unshare for a new container, setns to join a running one."""

from __future__ import annotations

import os
from dataclasses import dataclass

from minicontainer.kernel import syscalls as sc
from minicontainer.plan import Step

# Kind -> (clone flag, unshare(1)/nsenter(1) long option, /proc/<pid>/ns file)
KINDS = {
    "mnt": (sc.CLONE_NEWNS, "mount", "mnt"),
    "uts": (sc.CLONE_NEWUTS, "uts", "uts"),
    "ipc": (sc.CLONE_NEWIPC, "ipc", "ipc"),
    "net": (sc.CLONE_NEWNET, "net", "net"),
    "pid": (sc.CLONE_NEWPID, "pid", "pid"),
}


@dataclass
class Unshare(Step):
    """Give the calling process new namespaces (pid applies to its children: see spawn)."""

    kinds: list[str]
    why = "new namespaces: the container gets its own mounts, hostname, IPC and (unless --net=host) network"

    def flags(self) -> int:
        flags = 0
        for kind in self.kinds:
            flags |= KINDS[kind][0]
        return flags

    def do(self) -> None:
        sc.unshare(self.flags())

    def explain(self) -> str:
        return "unshare " + " ".join(f"--{KINDS[k][1]}" for k in self.kinds)


def open_namespaces(pid: int, kinds: list[str]) -> dict[str, int]:
    """Open /proc/<pid>/ns/<kind> for each kind; the fds pin the namespaces for a later setns."""
    fds: dict[str, int] = {}
    try:
        for kind in kinds:
            fds[kind] = os.open(f"/proc/{pid}/ns/{KINDS[kind][2]}", os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    return fds


def same_namespace(pid: int, kind: str) -> bool:
    """True if process pid shares our namespace of this kind (e.g. a --net=host container)."""
    name = KINDS[kind][2]
    return os.stat(f"/proc/{pid}/ns/{name}").st_ino == os.stat(f"/proc/self/ns/{name}").st_ino
