"""Read one entry (and everything under it) and feed it to a sink: a directory or a tar stream.

The walk names nothing by path: each directory is opened relative to its parent's fd with
O_NOFOLLOW, each file is opened the same way and checked with fstat. If the tree changes under the
walk (a directory swapped for a symlink, a file for a fifo), the open fails or the check refuses the
entry; no lookup ever goes anywhere the first lookup did not.
"""

from __future__ import annotations

import os
import stat

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a fifo swapped in for a file must not hang the copy (the fstat check then refuses it).
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class ChangedDuringCopy(OSError):
    pass


# A sink (DirSink, TarSink) has: begin_dir(parent, name, st) -> handle; end_dir(handle, st);
# file(parent, name, st, fd); symlink(parent, name, st, target); special(parent, name, st).
# `parent` and the handles are the sink's own notion of a directory (an fd, an archive path).


def walk(src_dir: int, src_name: str, sink, parent, name: str, st: os.stat_result | None = None) -> None:
    """Copy src_dir/src_name to the sink as `name` under `parent` (a sink handle)."""
    if st is None:
        st = os.stat(src_name, dir_fd=src_dir, follow_symlinks=False)
    kind = stat.S_IFMT(st.st_mode)
    if kind == stat.S_IFDIR:
        fd = os.open(src_name, _OPEN_DIR, dir_fd=src_dir)
        try:
            _same_inode(fd, st, src_name)
            handle = sink.begin_dir(parent, name, st)
            walk_contents(fd, sink, handle)
            sink.end_dir(handle, st)
        finally:
            os.close(fd)
    elif kind == stat.S_IFREG:
        fd = os.open(src_name, _OPEN_FILE, dir_fd=src_dir)
        try:
            st = _same_inode(fd, st, src_name)
            sink.file(parent, name, st, fd)
        finally:
            os.close(fd)
    elif kind == stat.S_IFLNK:
        sink.symlink(parent, name, st, os.readlink(src_name, dir_fd=src_dir))
    elif kind in (stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK):
        sink.special(parent, name, st)
    # sockets are skipped, as tar skips them


def walk_contents(dir_fd: int, sink, handle) -> None:
    """Everything inside an opened directory, in name order (stable archives, stable tests)."""
    with os.scandir(dir_fd) as it:
        entries = sorted(((e.name, e.stat(follow_symlinks=False)) for e in it), key=lambda x: x[0])
    for name, st in entries:
        walk(dir_fd, name, sink, handle, name, st)


def _same_inode(fd: int, seen: os.stat_result, name: str) -> os.stat_result:
    now = os.fstat(fd)
    if (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino) or stat.S_IFMT(now.st_mode) != stat.S_IFMT(seen.st_mode):
        raise ChangedDuringCopy(f"{name}: changed during the copy")
    return now
