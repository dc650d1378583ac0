"""Mount steps: the container's filesystem view, built in its own mount namespace.

All of these run inside the container's new mount namespace (after unshare(CLONE_NEWNS)), so
nothing here needs undoing: the mounts disappear with the namespace when the container exits.
Targets inside the rootfs are opened with kernel.safepath, so an image's symlinks cannot redirect
a mount onto the host.
"""

from __future__ import annotations

import errno
import os
import shlex
from dataclasses import dataclass, field

from minicontainer.kernel import safepath
from minicontainer.kernel import syscalls as sc
from minicontainer.plan import Step

_FLAG_NAMES = [(sc.MS_RDONLY, "ro"), (sc.MS_NOSUID, "nosuid"), (sc.MS_NODEV, "nodev"), (sc.MS_NOEXEC, "noexec")]


def _options(flags: int, data: str | None) -> str:
    opts = [name for bit, name in _FLAG_NAMES if flags & bit]
    if data:
        opts.append(data)
    return ",".join(opts)


# statvfs f_flag bits -> the mount flags that keep them (ST_RELATIME is 4096, MS_RELATIME 1 << 21)
_KEPT_FLAGS = [(os.ST_NOSUID, sc.MS_NOSUID), (os.ST_NODEV, sc.MS_NODEV), (os.ST_NOEXEC, sc.MS_NOEXEC),
               (os.ST_NOATIME, 1 << 10), (os.ST_NODIRATIME, 1 << 11), (os.ST_RELATIME, 1 << 21)]


def remount_readonly(path: str) -> None:
    """Make a bind mount read-only, keeping its nosuid/nodev/noexec/atime flags: a bind remount sets
    them all at once, so leaving them out would clear them (runc and mount(8) keep them too)."""
    current = os.statvfs(path).f_flag
    kept = 0
    for st_bit, ms_bit in _KEPT_FLAGS:
        if current & st_bit:
            kept |= ms_bit
    sc.mount(None, path, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | kept)


def _join(root: str, path: str) -> str:
    return root.rstrip("/") + "/" + path.lstrip("/") if root else path


@dataclass
class MakeMountsPrivate(Step):
    """mount --make-rprivate /: nothing the container mounts propagates to the host."""

    why = "mount events inside the container must not propagate back to the host"

    def do(self) -> None:
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)

    def explain(self) -> str:
        return "mount --make-rprivate /"


@dataclass
class MountOverlay(Step):
    """The container's root: the image's layers read-only under its own writable layer."""

    lower: list[str]
    upper: str
    work: str
    target: str
    why = "the container's root: image read-only below, its own writable layer on top"

    def data(self) -> str:
        """Without an upper dir the overlay is a read-only view of the layers (it needs two or more)."""
        if not self.upper:
            return f"lowerdir={':'.join(self.lower)}"
        return f"lowerdir={':'.join(self.lower)},upperdir={self.upper},workdir={self.work}"

    def do(self) -> None:
        data = self.data()
        if len(data) >= 4096:  # mount(2) copies at most one page of options
            raise OSError(errno.E2BIG, f"{len(self.lower)} image layers make {len(data)} bytes of overlay options, "
                                       "more than one page (4096); a shorter state root path leaves room for more")
        sc.mount("overlay", self.target, "overlay", 0 if self.upper else sc.MS_RDONLY, data)

    def explain(self) -> str:
        return f"mount -t overlay overlay -o {'' if self.upper else 'ro,'}{self.data()} {self.target}"


@dataclass
class MountFs(Step):
    """Mount a pseudo filesystem (proc, sysfs, tmpfs, devpts, mqueue) at a path inside root."""

    fstype: str
    root: str
    target: str
    flags: int = 0
    data: str | None = None
    why: str = ""
    source: str = ""  # the device to mount ("" for a pseudo filesystem: its type's name, as mount(8) shows)

    def do(self) -> None:
        fd = safepath.open_dir(self.root, self.target)
        try:
            sc.mount(self.source or self.fstype, safepath.fd_path(fd), self.fstype, self.flags, self.data)
        finally:
            os.close(fd)

    def explain(self) -> str:
        opts = _options(self.flags, self.data)
        target = _join(self.root, self.target)
        source = shlex.quote(self.source or self.fstype)
        return f"mkdir -p {target} && mount -t {self.fstype}{' -o ' + opts if opts else ''} {source} {target}"


@dataclass
class BindMount(Step):
    """Bind a host file or directory onto a path inside root (read-only if asked)."""

    source: str
    root: str
    target: str
    readonly: bool = False
    why: str = ""

    def do(self) -> None:
        if os.path.isdir(self.source):
            fd = safepath.open_dir(self.root, self.target)
        else:
            fd = safepath.open_file(self.root, self.target)
        try:
            sc.mount(self.source, safepath.fd_path(fd), None, sc.MS_BIND | sc.MS_REC)
        finally:
            os.close(fd)
        if self.readonly:
            # The fd above names the directory under the new mount; the remount needs the mount's root.
            opener = safepath.open_dir if os.path.isdir(self.source) else safepath.open_file
            fd = opener(self.root, self.target, create=False)
            try:
                remount_readonly(safepath.fd_path(fd))
            finally:
                os.close(fd)

    def explain(self) -> str:
        target = _join(self.root, self.target)
        if os.path.isdir(self.source):
            make = f"mkdir -p {shlex.quote(target)}"
        else:  # open(O_CREAT) as the runtime does: creates a missing file, changes no timestamp
            make = f"mkdir -p {shlex.quote(os.path.dirname(target))} && : >> {shlex.quote(target)}"
        cmd = f"{make} && mount --rbind {shlex.quote(self.source)} {shlex.quote(target)}"
        if self.readonly:
            cmd += f" && mount -o remount,bind,ro {shlex.quote(target)}"
        return cmd


@dataclass
class DeviceNode:
    """One device node of the container's /dev."""

    name: str
    major: int
    minor: int
    mode: int = 0o666
    kind: str = "c"   # c: character, b: block


DEFAULT_DEVICES = [
    DeviceNode("null", 1, 3), DeviceNode("zero", 1, 5), DeviceNode("full", 1, 7),
    DeviceNode("random", 1, 8), DeviceNode("urandom", 1, 9), DeviceNode("tty", 5, 0),
]
_NOT_FROM_HOST = {"pts", "shm", "mqueue", "fd", "console", "ptmx", "stdin", "stdout", "stderr"}


def host_devices(dev: str = "/dev") -> list[DeviceNode]:
    """The host's device nodes, one directory deep (--privileged gets them all, as Docker gives
    them), less what the container has its own of (its pts, shm, mqueue, console, ptmx)."""
    import stat as st
    out = []

    def add(rel: str) -> None:
        try:
            info = os.lstat(f"{dev}/{rel}")
        except OSError:
            return
        if st.S_ISCHR(info.st_mode) or st.S_ISBLK(info.st_mode):
            out.append(DeviceNode(rel, os.major(info.st_rdev), os.minor(info.st_rdev), st.S_IMODE(info.st_mode),
                                  "c" if st.S_ISCHR(info.st_mode) else "b"))
        elif st.S_ISDIR(info.st_mode) and "/" not in rel:
            for name in sorted(os.listdir(f"{dev}/{rel}")):
                add(f"{rel}/{name}")

    for name in sorted(os.listdir(dev)):
        if name not in _NOT_FROM_HOST and not name.startswith("."):
            add(name)
    return out


DEFAULT_DEV_LINKS = {
    "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx",
}


@dataclass
class PopulateDev(Step):
    """Create the device nodes and the standard symlinks in the container's fresh /dev tmpfs."""

    dev_dir: str
    nodes: list[DeviceNode] = field(default_factory=lambda: list(DEFAULT_DEVICES))
    links: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_DEV_LINKS))
    why: str = "a minimal /dev: only harmless character devices, never the host's disks"

    def do(self) -> None:
        old = os.umask(0)
        try:
            for n in self.nodes:
                if "/" in n.name:
                    os.makedirs(os.path.dirname(f"{self.dev_dir}/{n.name}"), 0o755, exist_ok=True)
                kind = 0o020000 if n.kind == "c" else 0o060000
                os.mknod(f"{self.dev_dir}/{n.name}", kind | n.mode, os.makedev(n.major, n.minor))
        finally:
            os.umask(old)
        for name, target in self.links.items():
            os.symlink(target, f"{self.dev_dir}/{name}")

    def explain(self) -> str:
        cmds = [f"mknod -m {n.mode:o} {self.dev_dir}/{n.name} {n.kind} {n.major} {n.minor}" for n in self.nodes]
        cmds += [f"ln -s {t} {self.dev_dir}/{name}" for name, t in self.links.items()]
        return "\n".join(cmds)


@dataclass
class PivotRoot(Step):
    """pivot_root into the container's root and detach the old one."""

    new_root: str
    why = "make the rootfs the container's / and detach the host's tree from its view"

    def do(self) -> None:
        # pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
        # removes the old root without needing a directory for it (the trick runc uses).
        os.chdir(self.new_root)
        sc.pivot_root(".", ".")
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")

    def explain(self) -> str:
        return f"cd {self.new_root} && pivot_root . . && umount -l . && cd /"


@dataclass
class MaskPaths(Step):
    """Hide host-sensitive /proc and /sys entries the way Docker does (MaskedPaths)."""

    paths: list[str]
    why = "hide kernel interfaces a container has no business reading (Docker's MaskedPaths)"

    def do(self) -> None:
        for path in self.paths:
            if os.path.isdir(path):
                sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY)
            elif os.path.exists(path):
                sc.mount("/dev/null", path, None, sc.MS_BIND)

    def explain(self) -> str:
        return (f"for p in {' '.join(self.paths)}; do\n"
                "  if [ -d $p ]; then mount -t tmpfs -o ro tmpfs $p; elif [ -e $p ]; then mount --bind /dev/null $p; fi\n"
                "done")


@dataclass
class ReadonlyPaths(Step):
    """Paths under /proc made read-only, as Docker does."""

    paths: list[str]
    why = "make kernel tunables read-only inside the container (Docker's ReadonlyPaths)"

    def do(self) -> None:
        for path in self.paths:
            if os.path.exists(path):
                sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
                remount_readonly(path)

    def explain(self) -> str:
        return (f"for p in {' '.join(self.paths)}; do\n"
                "  if [ -e $p ]; then mount --rbind $p $p && mount -o remount,bind,ro $p; fi\n"
                "done")


@dataclass
class ReadonlyRoot(Step):
    """--read-only: the container's root remounted read-only (its other mounts keep their own flags)."""

    why = "--read-only: the root filesystem read-only; /dev, /proc, volumes and tmpfs mounts are mounts of their own"

    def do(self) -> None:
        remount_readonly("/")

    def explain(self) -> str:
        return "mount -o remount,bind,ro /"


@dataclass
class WriteSysctls(Step):
    """--sysctl: written through the container's /proc/sys (its network, IPC and mqueue namespaces'
    values), before /proc/sys is made read-only."""

    values: dict[str, str]
    why = "--sysctl: the values of the container's own namespaces"

    def do(self) -> None:
        from minicontainer.specs.sysctl import proc_path
        for key, value in self.values.items():
            try:
                with open(proc_path(key), "w") as f:
                    f.write(value)
            except OSError as exc:
                raise OSError(exc.errno, f"write sysctl key {key}: {exc.strerror}") from None

    def explain(self) -> str:
        return "\n".join(f"sysctl -w {shlex.quote(f'{k}={v}')}" for k, v in self.values.items())


MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
