"""`cp` in both directions between two Roots (the container's and the host's), with Docker's rules.

1. locate the source: a parent directory fd and one name (or "." for SRC/.), following symlinks
   only where Docker does (-L, a trailing slash); 2. stat the destination, following its symlinks;
3. paths.placement() picks the extraction directory and the entry's name there; 4. walk the source
   into a DirSink (or a tar stream for "-"). Returns the size Docker reports (that of the tar).
"""

from __future__ import annotations

import os
import posixpath
import stat
import sys
from typing import BinaryIO

from minicontainer.cp.dirsink import DirSink, Handle
from minicontainer.cp.paths import (
    DestInfo,
    SourceInfo,
    asserts_directory,
    clean,
    in_container,
    placement,
    specifies_current_dir,
    split_dir_entry,
)
from minicontainer.cp.rooted import Root
from minicontainer.cp.walk import walk, walk_contents
from minicontainer.errors import DaemonError, MCError

_READ_DIR = os.O_RDONLY | os.O_DIRECTORY


class Located:
    """The source: what Docker's CopyInfo says of it, plus an fd on its parent directory and its name."""

    def __init__(self, info: SourceInfo, dir_fd: int, name: str, st: os.stat_result):
        self.info, self.dir_fd, self.name, self.st = info, dir_fd, name, st

    def close(self) -> None:
        os.close(self.dir_fd)

    def copy_to(self, sink, parent, entry: str, merge: bool) -> None:
        """merge: the entry is "." of an existing directory: its contents go straight into parent."""
        if merge and self.info.is_dir:
            fd = os.open(self.name, _READ_DIR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.dir_fd)
            try:
                walk_contents(fd, sink, parent)
            finally:
                os.close(fd)
        else:
            walk(self.dir_fd, self.name, sink, parent, entry, self.st)


def locate(root: Root, path: str, follow: bool) -> Located:
    """path is absolute and clean apart from a trailing / or /. (which the user's intent hangs on)."""
    cleaned = clean(path)
    if specifies_current_dir(path):
        fd = root.open(cleaned, os.O_PATH | os.O_DIRECTORY)
        return Located(SourceInfo(path, True), fd, ".", os.fstat(fd))
    rebase = ""
    if follow or path.endswith("/"):
        resolved, st = root.follow(cleaned)
        if st is None:
            raise FileNotFoundError(2, "no such file or directory", path)
        if path.endswith("/") and not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(20, "not a directory", path)
        if posixpath.basename(resolved) != posixpath.basename(cleaned):
            rebase = posixpath.basename(cleaned)  # the copy keeps the link's name (GetRebaseName)
        cleaned = resolved
    dfd, name = root.open_parent(cleaned)
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except BaseException:
        os.close(dfd)
        raise
    return Located(SourceInfo(path, stat.S_ISDIR(st.st_mode), rebase), dfd, name, st)


def destination(root: Root, path: str) -> tuple[DestInfo, os.stat_result | None]:
    final, st = root.follow(clean(path))
    shown = path if final == clean(path) else final
    if asserts_directory(path) and not asserts_directory(shown):
        shown += "/"  # DEST/ through a symlink still asks for a directory: a dangling one is "no such directory"
    return DestInfo(shown, st is not None, st is not None and stat.S_ISDIR(st.st_mode)), st


# ------------------------------------------------------------------------ out of a container
def copy_out(ctr: Root, host: Root, container: str, src: str, dst: str, follow: bool) -> int:
    """src: container path as the user wrote it; dst: absolute local path or "-"."""
    src_path = in_container(src)
    source = _locate_or_fail(ctr, src_path, follow, DaemonError(f"Could not find the file {src} in container {container}"),
                             DaemonError(f"lstat {src_path}: not a directory"))
    try:
        tally = Tally()
        if dst == "-":
            return _tar_of(source, tally, sys.stdout.buffer)
        validate_output_path(host, dst)
        dst_info, _ = destination(host, dst)
        if not dst_info.exists:
            _parent_must_be_dir(host, dst_info.path)
        extract_dir, entry = placement(source.info, dst_info)
        _run(source, DirSink(keep_owner=False), tally, Handle(host.open(extract_dir, _READ_DIR), extract_dir), entry)
        return tally.size
    finally:
        source.close()


def _tar_of(source: Located, tally: "Tally", out: BinaryIO) -> int:
    from minicontainer.cp.tarstream import TarSink
    sink = TarSink(out)
    source.copy_to(tally.wrap(sink), "", source.info.entry_name, merge=False)
    sink.close()
    return tally.size


def archive_out(ctr: Root, container: str, path: str, out: BinaryIO) -> int:
    """The Engine API's GET archive: path (absolute, in the container) as a tar stream on out,
    its top entry named as the path's last element."""
    source = _locate_or_fail(ctr, path, False, DaemonError(f"Could not find the file {path} in container {container}"),
                             DaemonError(f"lstat {path}: not a directory"))
    try:
        return _tar_of(source, Tally(), out)
    finally:
        source.close()


def archive_in(ctr: Root, container: str, path: str, stream: BinaryIO, owner: tuple[int, int] | None = None) -> None:
    """The Engine API's PUT archive: extract the tar on stream into the directory path, with the
    daemon's checks on it (it must exist, be a directory, be writable)."""
    final, _ = ctr.follow(clean(path))
    _extraction_point(ctr, container, final).close()
    from minicontainer.cp.tarstream import extract
    sink = DirSink(keep_owner=True, owner=owner)
    try:
        extract(stream, ctr, final, sink)
    finally:
        sink.close()


def validate_output_path(host: Root, path: str) -> None:
    """The CLI's ValidateOutputPath: the parent must exist; an existing DEST is a file or a directory."""
    parent = posixpath.dirname(clean(path))
    try:
        host.lstat(parent + "/")
    except FileNotFoundError:
        raise MCError(f'invalid output path: directory "{parent}" does not exist') from None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise MCError(f'invalid output path: "{path}" must be a directory or a regular file')


def _parent_must_be_dir(host: Root, path: str) -> None:
    parent = split_dir_entry(path)[0]
    try:
        host.lstat(parent + "/")
    except FileNotFoundError:
        raise MCError(f"stat {parent}: no such file or directory") from None
    except NotADirectoryError:
        raise MCError("not a directory") from None


# ------------------------------------------------------------------------ into a container
def copy_in(ctr: Root, host: Root, container: str, src: str, dst: str, follow: bool,
            owner: tuple[int, int] | None = None) -> tuple[int, str]:
    """src: absolute local path or "-"; dst: container path as the user wrote it; owner: (uid, gid)
    every entry gets (`cp -a` with the container's Config.User), else the source's.
    Returns (size, where it went as container:path)."""
    dst_path = in_container(dst)
    dst_info, st = destination(ctr, dst_path)
    if st is not None and not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise MCError(f'destination "{container}:{dst}" must be a directory or a regular file')
    if src == "-":
        if not dst_info.is_dir:
            raise MCError(f'destination "{container}:{dst}" must be a directory')
        handle = _extraction_point(ctr, container, dst_info.path)
        handle.close()
        from minicontainer.cp.tarstream import extract
        sink = DirSink(keep_owner=True, owner=owner)
        try:
            extract(sys.stdin.buffer, ctr, clean(dst_info.path), sink)
        finally:
            sink.close()
        return 0, f"{container}:{dst_info.path}"
    source = _locate_or_fail(host, src, follow, MCError(f"lstat {clean(src)}: no such file or directory"),
                             MCError(f"lstat {src}: not a directory"))
    try:
        extract_dir, entry = placement(source.info, dst_info)
        tally = Tally()
        _run(source, DirSink(keep_owner=True, owner=owner), tally, _extraction_point(ctr, container, extract_dir), entry)
        return tally.size, f"{container}:{dst_info.path}"
    finally:
        source.close()


def _extraction_point(ctr: Root, container: str, path: str) -> Handle:
    """The daemon's checks on the directory it extracts into (daemon/archive_unix.go)."""
    try:
        fd = ctr.open(path, os.O_PATH)  # O_PATH: a fifo planted there must not block the open
    except FileNotFoundError:
        raise DaemonError(f"Could not find the file {path} in container {container}") from None
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise DaemonError("extraction point is not a directory")
    if os.fstatvfs(fd).f_flag & os.ST_RDONLY:
        os.close(fd)
        raise DaemonError("mounted volume is marked read-only")
    return Handle(fd, path)


def _locate_or_fail(root: Root, path: str, follow: bool, missing: MCError, not_dir: MCError) -> Located:
    try:
        return locate(root, path, follow)
    except FileNotFoundError:
        raise missing from None
    except NotADirectoryError:
        raise not_dir from None


def _run(source: Located, sink: DirSink, tally: "Tally", parent: Handle, entry: str) -> None:
    try:
        source.copy_to(tally.wrap(sink), parent, entry, merge=entry == ".")
    finally:
        parent.close()
        sink.close()


class Tally:
    """A sink wrapper that counts what the copy would weigh as a tar archive: the size Docker prints."""

    def __init__(self):
        self.size = 1024  # the two zero blocks that end an archive
        self.sink = None

    def wrap(self, sink) -> "Tally":
        self.sink = sink
        return self

    def _add(self, st: os.stat_result) -> None:
        self.size += 512
        if stat.S_ISREG(st.st_mode):
            self.size += -(-st.st_size // 512) * 512

    def begin_dir(self, parent, name, st):
        self._add(st)
        return self.sink.begin_dir(parent, name, st)

    def end_dir(self, handle, st):
        self.sink.end_dir(handle, st)

    def file(self, parent, name, st, fd):
        self._add(st)
        self.sink.file(parent, name, st, fd)

    def symlink(self, parent, name, st, target):
        self._add(st)
        self.sink.symlink(parent, name, st, target)

    def special(self, parent, name, st):
        self._add(st)
        self.sink.special(parent, name, st)
