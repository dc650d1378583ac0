"""Open paths inside a container root without ever leaving it.

A container image may contain symlinks such as /etc -> /host/etc. Resolving rootfs + "/etc/hosts"
with the host's path walk would follow such a link out of the container. These helpers walk one
component at a time with O_NOFOLLOW relative to a directory fd, so a symlink on the way is an error,
never an escape. Mounting onto the returned O_PATH fd through /proc/self/fd/N keeps it race-free.
"""

import os
import stat

_DIR_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class UnsafePath(OSError):
    pass


def _components(rel: str) -> list[str]:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(f"path {rel!r} contains '..'")
    return parts


def open_dir(root: str, rel: str, create: bool = True, mode: int = 0o755) -> int:
    """Return an O_PATH fd for directory root/rel, creating missing components if asked."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in _components(rel):
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, mode, dir_fd=fd)
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:  # ELOOP or ENOTDIR: a symlink or a file where a directory should be
                raise UnsafePath(f"{rel}: component {part!r} is a symlink or not a directory") from exc
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def open_file(root: str, rel: str, create: bool = True) -> int:
    """Return an O_PATH fd for regular file root/rel, creating it (empty) if asked."""
    parent, _, name = rel.rstrip("/").rpartition("/")
    if not name or name == "..":
        raise UnsafePath(f"path {rel!r} does not name a file")
    dfd = open_dir(root, parent, create=create)
    try:
        if create:
            try:
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd))
            except OSError as exc:
                raise UnsafePath(f"{rel}: is a symlink or cannot be created") from exc
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UnsafePath(f"{rel}: not a regular file")
        return fd
    finally:
        os.close(dfd)


def fd_path(fd: int) -> str:
    return f"/proc/self/fd/{fd}"
