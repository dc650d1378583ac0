"""Unpack one image layer (a tar stream) into its own directory, in the form overlayfs reads.

Whiteouts become what the overlay2 driver makes of them: `.wh.NAME` a 0/0 character device called
NAME (it hides NAME in the layers below), `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its
directory (it hides everything below that directory, but not what this layer adds there).

Safety: a layer is content from the network. Every entry must stay inside the layer directory:
absolute names, `..` that climbs out, entries (and hard-link targets) under a symlink are refused
with an error naming the entry. Parents are opened component by component with O_NOFOLLOW and
entries created by DirSink (O_EXCL, metadata through the new fd), so nothing is ever written
through a link. Modes with setuid bits, owners, device nodes and file capabilities are kept: a
rootfs needs them (tarfile's 'data' filter would strip them).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import tarfile
from typing import BinaryIO

from minicontainer.cp.dirsink import DirSink, Handle
from minicontainer.cp.tarstream import TarStat, write_all
from minicontainer.errors import MCError

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeLayer(MCError):
    exit_code = 1


def clean_name(raw: str, what: str = "entry") -> str:
    """A member name relative to the layer root ('' for the root itself); refused if it leaves it."""
    if raw.startswith("/"):
        raise UnsafeLayer(f"refusing layer {what} {raw!r}: absolute path")
    norm = posixpath.normpath(raw) if raw else "."
    if norm == ".." or norm.startswith("../"):
        raise UnsafeLayer(f"refusing layer {what} {raw!r}: it would land outside the layer")
    return "" if norm == "." else norm


class LayerWriter:
    """Applies tar members one by one under the directory `root` (empty when we start)."""

    def __init__(self, root: str):
        self.root_fd = os.open(root, _PATH_DIR)
        self.sink = DirSink(keep_owner=True)
        self.dirs: list[tuple[str, TarStat]] = []

    def close(self) -> None:
        self.sink.close()
        os.close(self.root_fd)

    def _parent(self, rel: str, entry: str, create: bool = True) -> Handle:
        """An fd on directory rel (made 0755 where missing), never passing through a symlink."""
        fd = os.dup(self.root_fd)
        done = ""
        for part in [p for p in rel.split("/") if p]:
            done = posixpath.join(done, part)
            try:
                try:
                    nxt = os.open(part, _PATH_DIR, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = os.open(part, _PATH_DIR, dir_fd=fd)
                except OSError as exc:
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                        raise UnsafeLayer(f"refusing layer entry {entry!r}: it would be written through the "
                                          f"symlink {done!r}") from None
                    raise UnsafeLayer(f"refusing layer entry {entry!r}: {done!r} is not a directory") from None
            finally:
                os.close(fd)
            fd = nxt
        return Handle(fd, "/" + rel)

    def add(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = clean_name(m.name)
        if not rel:
            return
        parent_rel, name = posixpath.split(rel)
        parent = self._parent(parent_rel, m.name)
        try:
            if name == OPAQUE:
                self._opaque(parent)
            elif name.startswith(WHITEOUT):
                self._whiteout(parent, name[len(WHITEOUT):], m)
            else:
                self._entry(tar, m, parent, name)
                if m.isdir():
                    self.dirs.append((rel, TarStat(m, stat.S_IFDIR)))
        finally:
            parent.close()

    def _opaque(self, parent: Handle) -> None:
        fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=parent.fd)
        try:
            os.setxattr(fd, OPAQUE_XATTR, b"y")
        finally:
            os.close(fd)

    def _whiteout(self, parent: Handle, hidden: str, m: tarfile.TarInfo) -> None:
        if not hidden or hidden.startswith(WHITEOUT) or hidden in (".", ".."):
            return  # aufs bookkeeping (.wh..wh.plnk ...), meaningless to overlayfs
        self.sink.special(parent, hidden, TarStat(m, stat.S_IFCHR, mode=0, rdev=os.makedev(0, 0)))

    def _entry(self, tar: tarfile.TarFile, m: tarfile.TarInfo, parent: Handle, name: str) -> None:
        if m.isdir():
            meta = TarStat(m, stat.S_IFDIR)
            handle = self.sink.begin_dir(parent, name, meta)
            self._xattrs(handle.fd, m)
            self.sink.end_dir(handle, meta)
        elif m.isreg():
            src = tar.extractfile(m)
            self.sink.file_from(parent, name, TarStat(m, stat.S_IFREG), lambda fd: write_all(fd, src))
            if _xattr_items(m):
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent.fd)
                try:
                    self._xattrs(fd, m)  # after the chown, which would clear security.capability
                finally:
                    os.close(fd)
        elif m.issym():
            self.sink.symlink(parent, name, TarStat(m, stat.S_IFLNK, mode=0o777), m.linkname)
        elif m.islnk():
            self._hardlink(m, parent, name)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            self.sink.special(parent, name, TarStat(m, kind))

    def _hardlink(self, m: tarfile.TarInfo, parent: Handle, name: str) -> None:
        target = clean_name(m.linkname, "hard link target")
        t_parent_rel, t_name = posixpath.split(target)
        try:
            t_parent = self._parent(t_parent_rel, m.name, create=False)
        except FileNotFoundError:
            raise UnsafeLayer(f"refusing layer entry {m.name!r}: hard link target {m.linkname!r} does not exist") from None
        try:
            tfd = os.open(t_name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=t_parent.fd)
        except FileNotFoundError:
            raise UnsafeLayer(f"refusing layer entry {m.name!r}: hard link target {m.linkname!r} does not exist") from None
        finally:
            t_parent.close()
        try:
            self.sink.hardlink(parent, name, tfd)
        finally:
            os.close(tfd)

    def _xattrs(self, fd: int, m: tarfile.TarInfo) -> None:
        for key, value in _xattr_items(m):
            os.setxattr(fd, key, value)

    def finish(self) -> None:
        """Directory times last: adding their entries changed them."""
        for rel, meta in reversed(self.dirs):
            parent_rel, name = posixpath.split(rel)
            parent = self._parent(parent_rel, rel, create=False)
            try:
                os.utime(name, ns=(meta.st_atime_ns, meta.st_mtime_ns), dir_fd=parent.fd, follow_symlinks=False)
            finally:
                parent.close()


def _xattr_items(m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    """PAX SCHILY.xattr.* records (file capabilities, mostly); overlay's own xattrs never come from a layer."""
    out = []
    for key, value in m.pax_headers.items():
        if key.startswith("SCHILY.xattr.") and not key.startswith("SCHILY.xattr.trusted.overlay."):
            out.append((key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape")))
    return out


def apply(stream: BinaryIO, root: str) -> None:
    """Unpack the (uncompressed) tar stream into the directory root."""
    writer = LayerWriter(root)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for m in tar:
                writer.add(tar, m)
        writer.finish()
    except tarfile.TarError as exc:
        raise MCError(f"invalid layer archive: {exc}", 1) from None
    finally:
        writer.close()
