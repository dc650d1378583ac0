"""Control groups, v1 and v2: where the hierarchies are, and making, filling, entering and removing a
container's directory in them. The values to write are worked out elsewhere (specs/cgroup_limits.py).

v1 (this VM's hybrid layout, older distributions) mounts one hierarchy per controller
(/sys/fs/cgroup/memory, /sys/fs/cgroup/pids, ...): a container has a directory in each. v2 (Debian
12, Fedora, Ubuntu 22.04: the unified layout) is one tree at /sys/fs/cgroup: one directory, whose
parent must list the controllers its children may use in cgroup.subtree_control.
MINICONTAINER_CGROUP_ROOT names a cgroup2 mount to use instead of what /proc/self/mountinfo shows
(the tests use the hybrid layout's /sys/fs/cgroup/unified that way).
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass, field

# The v1 controllers runc places a container in (those mounted here); "name=systemd" and friends are not.
V1_CONTROLLERS = ("blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids")
V2_CONTROLLERS = ("cpu", "cpuset", "io", "memory", "pids")


@dataclass(frozen=True)
class Layout:
    """Where the cgroup hierarchies are. version 1: mounts maps each controller to its hierarchy's
    mount point (co-mounted controllers share one); version 2: root is the unified mount."""

    version: int
    mounts: dict[str, str] = field(default_factory=dict)
    root: str = ""

    def tops(self) -> list[str]:
        """Each hierarchy's root, once (co-mounted v1 controllers share one)."""
        if self.version == 2:
            return [self.root]
        return sorted(set(self.mounts.values()))

    def dir_of(self, rel: str, controller: str) -> str:
        """The directory that holds `controller`'s files for cgroup path `rel`."""
        if self.version == 2:
            return os.path.join(self.root, rel)
        return os.path.join(self.mounts[controller], rel)

    def controllers(self) -> set[str]:
        if self.version == 1:
            return set(self.mounts)
        return set(read(os.path.join(self.root, "cgroup.controllers")).split())


def read(path: str) -> str:
    """A kernel file's text ("" if it is not there: a controller or counter this kernel lacks)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def keyed(text: str) -> dict[str, int]:
    """Lines of "key value" (memory.stat, cpu.stat, memory.events, memory.oom_control)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        value = value.strip()
        out[key] = int(value) if value.lstrip("-").isdigit() else 0
    return out


def layout(mountinfo: str = "/proc/self/mountinfo") -> Layout | None:
    """The machine's cgroup layout: v2 if /sys/fs/cgroup (or MINICONTAINER_CGROUP_ROOT) is a
    cgroup2 mount, else the v1 hierarchies mounted; None if there are none."""
    override = os.environ.get("MINICONTAINER_CGROUP_ROOT")
    v1: dict[str, str] = {}
    v2 = ""
    for line in read(mountinfo).splitlines():
        left, _, right = line.partition(" - ")
        fields, fstype = left.split(), right.split()
        if len(fields) < 5 or len(fstype) < 3:
            continue
        point = fields[4]
        if fstype[0] == "cgroup2" and (point == override or (not override and point == "/sys/fs/cgroup")):
            v2 = point
        elif fstype[0] == "cgroup" and not override:
            for opt in fstype[2].split(","):
                if opt in V1_CONTROLLERS:
                    v1[opt] = point
    if override and not v2:
        raise OSError(f"MINICONTAINER_CGROUP_ROOT={override} is not a cgroup2 mount")
    if v2:
        return Layout(2, root=v2)
    return Layout(1, mounts=v1) if v1 else None


def supported(lay: Layout | None) -> set[str]:
    """Which limits this machine's cgroups can hold, named as specs/resources.check() asks, found
    as Docker's sysinfo finds them (a controller mounted, its files at the hierarchy's root)."""
    if lay is None:
        return set()
    have = lay.controllers()
    out = set()
    if lay.version == 1:
        def root(controller: str) -> str:
            return lay.mounts.get(controller, "")
        if "memory" in have:
            out |= {"memory", "oom_kill_disable"}
            if os.path.exists(os.path.join(root("memory"), "memory.memsw.limit_in_bytes")):
                out.add("swap")
        if "cpu" in have:
            out.add("cpu_shares")
            if os.path.exists(os.path.join(root("cpu"), "cpu.cfs_quota_us")):
                out.add("cpu_quota")
        if "blkio" in have and any(os.path.exists(os.path.join(root("blkio"), f))
                                   for f in ("blkio.weight", "blkio.bfq.weight")):
            out.add("blkio_weight")
        out |= {"devices"} & have
    else:
        child = _v2_child(lay.root)
        if "memory" in have:
            out.add("memory")
            if child is None or os.path.exists(os.path.join(child, "memory.swap.max")):
                out.add("swap")  # no swap accounting (swapaccount=0): no memory.swap.max below the root
        if "cpu" in have:
            out |= {"cpu_shares", "cpu_quota"}
        if "io" in have:
            out.add("blkio_weight")
    out |= {"pids", "cpuset"} & have
    return out


def blkio_weight_file(lay: Layout) -> str:
    """blkio.weight (CFQ) or blkio.bfq.weight (BFQ) on v1; io.weight or io.bfq.weight on v2 (the
    root has neither: a child that has the io controller shows which)."""
    if lay.version == 1:
        root = lay.mounts.get("blkio", "")
        return "blkio.weight" if os.path.exists(os.path.join(root, "blkio.weight")) else "blkio.bfq.weight"
    child = _v2_child(lay.root, "io.stat")
    return "io.bfq.weight" if child and os.path.exists(os.path.join(child, "io.bfq.weight")) else "io.weight"


def _v2_child(root: str, marker: str = "memory.current") -> str | None:
    """A cgroup below the v2 root whose controller files show what a container's would have (the
    root's own files are not those of its children); None if there is none yet."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return None
    for entry in entries:
        if entry.is_dir() and os.path.exists(os.path.join(entry.path, marker)):
            return entry.path
    return None


def write(path: str, value: str) -> None:
    """One value into one cgroup file (the kernel takes it whole or refuses it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    except OSError as exc:
        raise OSError(exc.errno, f"write {value!r} to {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def make(top: str, rel: str, version: int, cpuset: bool = False) -> list[str]:
    """mkdir -p of cgroup path `rel` below hierarchy root `top`; returns the directories it made,
    parents first. A new v1 cpuset directory (cpuset) starts with no CPUs and no memory nodes, where
    no process could run: it gets its parent's, as runc gives it. On v2 each parent passes the
    controllers on to its children."""
    made: list[str] = []
    for attempt in range(5):
        try:
            _make_levels(top, rel, version, cpuset, made)
            break
        except FileNotFoundError:  # another container's teardown removed the shared parent just now
            if attempt == 4:
                raise
    return made


def _make_levels(top: str, rel: str, version: int, cpuset: bool, made: list[str]) -> None:
    current = top.rstrip("/")
    for part in [p for p in rel.split("/") if p]:
        parent, current = current, os.path.join(current, part)
        if version == 2:
            _pass_controllers(parent)
        try:
            os.mkdir(current, 0o755)
            made.append(current)
        except FileExistsError:
            pass
        if cpuset:  # also where it existed: another start may have made it and not filled it yet
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not read(os.path.join(current, name)).strip():
                    write(os.path.join(current, name), read(os.path.join(parent, name)).strip())


def _pass_controllers(parent: str) -> None:
    """Enable for parent's children the controllers a container may be limited by."""
    have = set(read(os.path.join(parent, "cgroup.controllers")).split())
    enabled = set(read(os.path.join(parent, "cgroup.subtree_control")).split())
    missing = [c for c in V2_CONTROLLERS if c in have and c not in enabled]
    if missing:
        write(os.path.join(parent, "cgroup.subtree_control"), " ".join(f"+{c}" for c in missing))


def enter_self(files: list[str]) -> None:
    """Move the calling thread (on v1, where files are `tasks`; on v2 its process) into each cgroup."""
    for path in files:
        write(path, "0")


def procs(path: str) -> list[int]:
    return [int(p) for p in read(os.path.join(path, "cgroup.procs")).split()]


def remove(path: str, settle: float = 2.0) -> None:
    """rmdir one container directory: what still runs in it is killed first (a process a
    container left behind; exiting ones leave on their own), then rmdir, retried while the kernel
    still counts the dying. A missing directory is already removed."""
    deadline = time.monotonic() + settle
    while True:
        for pid in procs(path):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def remove_if_empty(path: str) -> None:
    """rmdir a parent directory unless another container's cgroup (or a process) is in it."""
    try:
        os.rmdir(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EBUSY):
            raise


def oom_kills(version: int, memory_dir: str) -> int:
    """How many processes of the cgroup the OOM killer killed (v1 memory.oom_control, v2 memory.events)."""
    return keyed(read(os.path.join(memory_dir, "memory.oom_control" if version == 1 else "memory.events"))).get("oom_kill", 0)


def freeze(directory: str, version: int, frozen: bool, timeout: float = 5.0) -> None:
    """Freeze (or thaw) every process of the cgroup at directory, and wait until the kernel says it
    is done: v1 freezer.state goes FREEZING -> FROZEN; v2 cgroup.freeze, then `frozen 1` in
    cgroup.events. OSError if it does not settle in time (a task stuck in uninterruptible sleep)."""
    import time
    if version == 1:
        want = "FROZEN" if frozen else "THAWED"
        write(os.path.join(directory, "freezer.state"), want)

        def done() -> bool:
            return read(os.path.join(directory, "freezer.state")).strip() == want
    else:
        write(os.path.join(directory, "cgroup.freeze"), "1" if frozen else "0")

        def done() -> bool:
            return keyed(read(os.path.join(directory, "cgroup.events"))).get("frozen") == (1 if frozen else 0)
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise OSError(f"{directory}: the freezer did not settle in {timeout:.0f} s")
        time.sleep(0.002)
