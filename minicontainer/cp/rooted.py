"""A filesystem tree seen from inside: every path lookup is done by the kernel within a root fd.

For a container the root fd is /proc/<pid>/root (or its rootfs mounted in a private namespace);
for the host it is "/", where RESOLVE_IN_ROOT changes nothing. Lookups return a directory fd and
one final name; everything after that is done relative to the fd with *at() calls that never
follow the final name, so a symlink swapped in later is refused, never followed.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat

from minicontainer.cp.paths import asserts_directory, clean, split_dir_entry
from minicontainer.kernel.openat2 import in_root

_DIR_PATH = os.O_PATH | os.O_DIRECTORY
MAX_LINK_HOPS = 10  # as go-archive's CopyInfoDestinationPath


class Root:
    def __init__(self, fd: int):
        self.fd = fd

    @classmethod
    def host(cls) -> "Root":
        return cls(os.open("/", _DIR_PATH | os.O_CLOEXEC))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def open(self, path: str, flags: int, mode: int = 0) -> int:
        """Open path (following symlinks, inside the root)."""
        return in_root(self.fd, path, flags, mode)

    def open_parent(self, path: str) -> tuple[int, str]:
        """(O_PATH fd of the directory holding path, final name); the name "." for a directory itself."""
        parent, name = split_dir_entry(path)
        if name == ".":
            return self.open(clean(path), _DIR_PATH), "."
        return self.open(parent, _DIR_PATH), name

    def lstat(self, path: str) -> os.stat_result:
        """Stat without following the final component, unless the path ends in / or /. (as the
        kernel does: a trailing slash asks for a directory)."""
        if asserts_directory(path):
            fd = self.open(path, os.O_PATH)
            try:
                return os.fstat(fd)
            finally:
                os.close(fd)
        dfd, name = self.open_parent(path)
        try:
            return os.stat(name, dir_fd=dfd, follow_symlinks=False)
        finally:
            os.close(dfd)

    def readlink(self, path: str) -> str:
        dfd, name = self.open_parent(path)
        try:
            return os.readlink(name, dir_fd=dfd)
        finally:
            os.close(dfd)

    def follow(self, path: str) -> tuple[str, os.stat_result | None]:
        """Follow symlinks at the end of path, textually and one hop at a time as Docker does, so the
        caller learns the final path (a copy is then placed next to the target, named after it).
        Returns the final path and its lstat, or None if it does not exist."""
        for _ in range(MAX_LINK_HOPS + 1):
            try:
                st = self.lstat(path)
            except FileNotFoundError:
                return path, None
            if not stat.S_ISLNK(st.st_mode):
                return path, st
            target = self.readlink(path)
            path = clean(target if target.startswith("/") else posixpath.join(split_dir_entry(path)[0], target))
        raise OSError(errno.ELOOP, "too many symlinks in " + path)
