"""Write copied entries into a directory, as go-archive's untar does, through fds only.

Every entry is created relative to its parent's directory fd with O_EXCL / O_NOFOLLOW, and its
owner, mode and times are set through the new entry's own fd (or with AT_SYMLINK_NOFOLLOW for a
symlink), never through a name the other side could have swapped: a container that races the copy
can make it fail, not make it write elsewhere (the CVE-2018-15664 / CVE-2021-41089 class).
"""

from __future__ import annotations

import errno
import os
import stat

from minicontainer.errors import MCError

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 30


class Handle:
    """A destination directory: its fd and the path a user would recognise, for messages."""

    def __init__(self, fd: int, shown: str):
        self.fd, self.shown = fd, shown

    def child(self, name: str) -> str:
        return self.shown.rstrip("/") + "/" + name

    def close(self) -> None:
        os.close(self.fd)


class DirSink:
    """keep_owner: give entries the source's uid/gid (into a container, as Docker keeps the tar's);
    out of a container Docker extracts with NoLchown, so the files belong to the invoking user.
    owner: (uid, gid) for every entry instead (`cp -a` into a container with a Config.User)."""

    def __init__(self, keep_owner: bool, owner: tuple[int, int] | None = None):
        self.keep_owner = keep_owner or owner is not None
        self.owner = owner
        self._links: dict[tuple[int, int], int] = {}  # source (dev, ino) -> fd of its first copy

    def close(self) -> None:
        for fd in self._links.values():
            os.close(fd)
        self._links.clear()

    def _ids(self, st: os.stat_result) -> tuple[int, int]:
        return self.owner if self.owner is not None else (st.st_uid, st.st_gid)

    # ---------------------------------------------------------------- entries
    def begin_dir(self, parent: Handle, name: str, st: os.stat_result) -> Handle:
        existing = _lstat(parent.fd, name)
        if existing is not None and not stat.S_ISDIR(existing.st_mode):
            raise MCError(f'cannot overwrite non-directory "{parent.child(name)}" with directory "{parent.shown}"')
        if existing is None:
            os.mkdir(name, 0o700, dir_fd=parent.fd)
        return Handle(os.open(name, _OPEN_DIR, dir_fd=parent.fd), parent.child(name))

    def end_dir(self, handle: Handle, st: os.stat_result) -> None:
        try:
            self._meta(handle.fd, st)
        finally:
            handle.close()

    def file(self, parent: Handle, name: str, st: os.stat_result, src: int) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self._links:
            self.hardlink(parent, name, self._links[key])  # a hard link of a file already copied
            return
        fd = self._create(parent, name, st, lambda out: copy_data(src, out))
        if st.st_nlink > 1:
            self._links[key] = fd
        else:
            os.close(fd)

    def file_from(self, parent: Handle, name: str, st, fill) -> None:
        """A regular file whose bytes fill(fd) writes (a tar member)."""
        os.close(self._create(parent, name, st, fill))

    def hardlink(self, parent: Handle, name: str, target_fd: int) -> None:
        """Link name to the file target_fd is open on (the fd names it exactly: no path to swap)."""
        self._make_room(parent, name)
        os.link(f"/proc/self/fd/{target_fd}", name, dst_dir_fd=parent.fd, follow_symlinks=True)

    def _create(self, parent: Handle, name: str, st, fill) -> int:
        self._make_room(parent, name)
        fd = os.open(name, _CREATE, 0o600, dir_fd=parent.fd)
        try:
            fill(fd)
            self._meta(fd, st)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def symlink(self, parent: Handle, name: str, st: os.stat_result, target: str) -> None:
        self._make_room(parent, name)
        os.symlink(target, name, dir_fd=parent.fd)
        if self.keep_owner:
            os.chown(name, *self._ids(st), dir_fd=parent.fd, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=parent.fd, follow_symlinks=False)

    def special(self, parent: Handle, name: str, st: os.stat_result) -> None:
        self._make_room(parent, name)
        old = os.umask(0)  # mknod takes the mode as given; no later chmod through a name
        try:
            os.mknod(name, st.st_mode, st.st_rdev, dir_fd=parent.fd)
        finally:
            os.umask(old)
        if self.keep_owner:
            os.chown(name, *self._ids(st), dir_fd=parent.fd, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=parent.fd, follow_symlinks=False)

    # ---------------------------------------------------------------- helpers
    def _make_room(self, parent: Handle, name: str) -> None:
        """An existing non-directory is replaced (unlinked, then created anew with O_EXCL); a directory
        is never replaced by a file (go-archive's NoOverwriteDirNonDir, which docker cp sets)."""
        existing = _lstat(parent.fd, name)
        if existing is None:
            return
        if stat.S_ISDIR(existing.st_mode):
            raise MCError(f'cannot overwrite directory "{parent.child(name)}" with non-directory "{parent.shown}"')
        os.unlink(name, dir_fd=parent.fd)

    def _meta(self, fd: int, st: os.stat_result) -> None:
        if self.keep_owner:
            os.fchown(fd, *self._ids(st))
        os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid bits
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def copy_data(src: int, dst: int) -> None:
    """Let the kernel copy: copy_file_range (a reflink or in-kernel copy, as cp does), sendfile where
    the two filesystems cannot do that, then plain reads for files whose size the kernel does not
    know in advance (/proc and /sys files report 0)."""
    try:
        while os.copy_file_range(src, dst, _CHUNK):
            pass
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
        while os.sendfile(dst, src, None, _CHUNK):
            pass
    while chunk := os.read(src, 1 << 16):
        os.write(dst, chunk)


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
