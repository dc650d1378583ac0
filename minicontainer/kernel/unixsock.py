"""Unix sockets in a container's directory, named through /proc/self/fd/N/ of that directory: a
socket path may have 107 bytes, a state root's container directory may be longer. The directory
is root's (0710): only root reaches them."""

from __future__ import annotations

import os
import socket


def _in(directory: str, name: str, kind: int, act) -> socket.socket:
    """A unix socket on which act(sock, path) binds or connects to directory/name through an fd of
    the directory (closed either way; the socket too, if act fails)."""
    sock = socket.socket(socket.AF_UNIX, kind | socket.SOCK_CLOEXEC)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        act(sock, f"/proc/self/fd/{dir_fd}/{name}")
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(dir_fd)
    return sock


def listen_in(directory: str, name: str, kind: int = socket.SOCK_STREAM, backlog: int = 8) -> socket.socket:
    """A listening socket at directory/name (one a killed process left there is replaced)."""
    remove_in(directory, name)
    sock = _in(directory, name, kind, lambda s, path: s.bind(path))
    sock.listen(backlog)
    return sock


def connect_in(directory: str, name: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A socket connected to directory/name; OSError if nothing listens there."""
    return _in(directory, name, kind, lambda s, path: s.connect(path))


def remove_in(directory: str, name: str) -> None:
    try:
        os.unlink(os.path.join(directory, name))
    except FileNotFoundError:
        pass
