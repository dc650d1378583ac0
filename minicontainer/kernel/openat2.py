"""openat2(2): path lookups the kernel keeps inside a directory (Linux >= 5.6; Python has no wrapper).

With RESOLVE_IN_ROOT the directory fd acts as "/" for the whole lookup: an absolute symlink, or
".." above it, lands back inside it, exactly as if the caller had chroot()ed there. The check is done
by the kernel during the walk itself, so no symlink swapped in afterwards can move the result.
"""

from __future__ import annotations

import ctypes
import errno
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
SYS_OPENAT2 = 437  # same number on every architecture (the syscall is newer than the table split)

RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02  # no /proc/<pid>/root style links: they would jump anywhere
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, mode: int = 0, resolve: int = 0) -> int:
    """Return a new fd (always O_CLOEXEC). Retries EAGAIN, which the kernel returns when a rename or
    mount raced with a '..' step and it could not prove the walk stayed inside."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    raw = os.fsencode(path)
    for _ in range(64):
        fd = _libc.syscall(SYS_OPENAT2, dirfd, raw, ctypes.byref(how), ctypes.sizeof(how))
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err not in (errno.EAGAIN, errno.EINTR):
            raise OSError(err, os.strerror(err), path)
    raise OSError(errno.EAGAIN, os.strerror(errno.EAGAIN), path)


def in_root(root_fd: int, path: str, flags: int, mode: int = 0) -> int:
    """Open `path` as seen from inside root_fd (absolute or relative, symlinks followed inside)."""
    return openat2(root_fd, path.lstrip("/") or ".", flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
