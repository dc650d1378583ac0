"""Advisory file locks (flock) so concurrent commands and supervisors never corrupt shared state."""

import _thread
import fcntl
import os
from contextlib import contextmanager


@contextmanager
def locked(path: str):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the fd releases the lock


@contextmanager
def try_locked(path: str):
    """Yield True holding the lock, or False at once if another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def write_atomic(path: str, data: str | bytes) -> None:
    """Write a file so readers see the old or the new content, never half of it."""
    tmp = f"{path}.tmp.{os.getpid()}.{_thread.get_ident()}"  # threads of one process may write one file
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as f:
        f.write(data)
    os.replace(tmp, path)
