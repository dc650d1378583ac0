"""`cp CONTAINER:SRC -` writes a tar archive to stdout; `cp - CONTAINER:DIR` extracts one from stdin.

Headers are built from the lstat the walk already has: no user or group name lookups, so nothing
ever consults NSS (a chrooted lookup loading the container's libnss_*.so was CVE-2019-14271).
Extraction drives the same DirSink as a plain copy, so the same fd-only rules apply, and entries
are kept inside the destination directory as go-archive keeps them (its breakout errors).
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from typing import BinaryIO

from minicontainer.cp.dirsink import DirSink, Handle
from minicontainer.cp.rooted import Root
from minicontainer.errors import MCError

_KINDS = {stat.S_IFREG: tarfile.REGTYPE, stat.S_IFDIR: tarfile.DIRTYPE, stat.S_IFLNK: tarfile.SYMTYPE,
          stat.S_IFIFO: tarfile.FIFOTYPE, stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE}


class TarSink:
    """A walk's entries as a tar stream; handles are the archive paths of directories."""

    def __init__(self, out: BinaryIO):
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self._links: dict[tuple[int, int], str] = {}

    def close(self) -> None:
        self.tar.close()

    def _info(self, parent: str, name: str, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(posixpath.join(parent, name) if parent else name)
        info.type = _KINDS[stat.S_IFMT(st.st_mode)]
        info.mode, info.uid, info.gid, info.mtime = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime
        return info

    def begin_dir(self, parent: str, name: str, st: os.stat_result) -> str:
        info = self._info(parent, name, st)
        self.tar.addfile(info)
        return info.name

    def end_dir(self, handle: str, st: os.stat_result) -> None:
        pass

    def file(self, parent: str, name: str, st: os.stat_result, fd: int) -> None:
        info = self._info(parent, name, st)
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self._links:
            info.type, info.linkname = tarfile.LNKTYPE, self._links[key]
            self.tar.addfile(info)
            return
        if st.st_nlink > 1:
            self._links[key] = info.name
        info.size = st.st_size
        with os.fdopen(os.dup(fd), "rb") as f:
            self.tar.addfile(info, f)

    def symlink(self, parent: str, name: str, st: os.stat_result, target: str) -> None:
        info = self._info(parent, name, st)
        info.linkname = target
        self.tar.addfile(info)

    def special(self, parent: str, name: str, st: os.stat_result) -> None:
        info = self._info(parent, name, st)
        if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        self.tar.addfile(info)


class TarStat:
    """The fields of os.stat_result that DirSink reads, taken from a tar header (mode and rdev can be
    given instead: a layer's whiteout is a 0/0 device whatever its header says)."""

    def __init__(self, m: tarfile.TarInfo, kind: int, mode: int | None = None, rdev: int | None = None):
        self.st_mode = kind | (m.mode if mode is None else mode)
        self.st_uid, self.st_gid = m.uid, m.gid
        self.st_mtime_ns = self.st_atime_ns = int(m.mtime * 1e9)
        if rdev is None:
            rdev = os.makedev(m.devmajor, m.devminor) if m.ischr() or m.isblk() else 0
        self.st_rdev = rdev
        self.st_nlink, self.st_dev, self.st_ino = 1, 0, 0


def extract(stream: BinaryIO, root: Root, dest: str, sink: DirSink) -> None:
    """Unpack a tar stream into directory `dest` of `root`. Names are cleaned and must stay under dest;
    parents are looked up inside the root (symlinks followed there, as Docker follows them inside the
    container) and missing ones made 0755; directory times are set last, once their contents exist."""
    dirs: list[tuple[str, TarStat]] = []
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for m in tar:
            rel = _inside(m.name, dest)
            if rel == ".":
                continue
            parent_rel, name = posixpath.split(rel)
            parent = _parent_handle(root, dest, parent_rel)
            try:
                _extract_one(tar, m, root, dest, parent, name, sink)
            finally:
                parent.close()
            if m.isdir():
                dirs.append((parent.child(name), TarStat(m, stat.S_IFDIR)))
    for path, st in reversed(dirs):
        dfd, name = root.open_parent(path)
        try:
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dfd, follow_symlinks=False)
        finally:
            os.close(dfd)


def _extract_one(tar, m: tarfile.TarInfo, root: Root, dest: str, parent: Handle, name: str, sink: DirSink) -> None:
    shown = parent.child(name)
    if m.isdir():
        st = TarStat(m, stat.S_IFDIR)
        sink.end_dir(sink.begin_dir(parent, name, st), st)
    elif m.isreg():
        src = tar.extractfile(m)
        sink.file_from(parent, name, TarStat(m, stat.S_IFREG), lambda fd: write_all(fd, src))
    elif m.issym():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(shown), m.linkname))
        if not m.linkname.startswith("/") and not _under(target, dest):
            raise MCError(f'invalid symlink "{shown}" -> "{m.linkname}"')
        sink.symlink(parent, name, TarStat(m, stat.S_IFLNK), m.linkname)
    elif m.islnk():
        target = posixpath.join(dest, _inside(m.linkname, dest, f'invalid hardlink "{posixpath.join(dest, m.linkname)}" '
                                                                f'-> "{m.linkname}"'))
        tfd = root.open(target, os.O_PATH | os.O_NOFOLLOW)
        try:
            sink.hardlink(parent, name, tfd)
        finally:
            os.close(tfd)
    elif m.isfifo() or m.ischr() or m.isblk():
        kind = stat.S_IFIFO if m.isfifo() else stat.S_IFCHR if m.ischr() else stat.S_IFBLK
        sink.special(parent, name, TarStat(m, kind))


def write_all(fd: int, src: BinaryIO) -> None:
    while chunk := src.read(1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


def _inside(name: str, dest: str, breakout: str = "") -> str:
    """A member name, cleaned and relative to dest. Absolute names count from dest (as go-archive
    joins them); a relative one that climbs out is its breakout error."""
    climbed = posixpath.normpath(name)
    if not name.startswith("/") and (climbed == ".." or climbed.startswith("../")):
        raise MCError(breakout or f'"{name}" is outside of "{dest}"')
    return posixpath.normpath("/" + name).lstrip("/") or "."


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def _parent_handle(root: Root, dest: str, parent_rel: str) -> Handle:
    """The directory an entry goes in; missing components are made 0755 relative to their parent's fd."""
    path = dest
    fd = root.open(path, os.O_PATH | os.O_DIRECTORY)
    for part in [p for p in parent_rel.split("/") if p]:
        path = path.rstrip("/") + "/" + part
        try:
            try:
                nxt = root.open(path, os.O_PATH | os.O_DIRECTORY)
            except FileNotFoundError:
                os.mkdir(part, 0o755, dir_fd=fd)
                nxt = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nxt
    return Handle(fd, path)
