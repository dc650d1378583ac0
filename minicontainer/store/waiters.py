"""Exit codes for those waiting on a container that removes itself (--rm, AutoRemove): its record
goes with it, so a `wait?condition=removed` that did not read the record in the moment between
"exited" and the removal would have no code to answer with. A waiter leaves an empty file named
after itself in <run>/waits/<container id>/; the supervisor writes the code into each such file
before it removes the container; the waiter reads its file and removes it."""

from __future__ import annotations

import os


def _dir(run_dir: str, cid: str) -> str:
    return os.path.join(run_dir, "waits", cid)


def register(run_dir: str, cid: str) -> str:
    directory = _dir(run_dir, cid)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{os.getpid()}-{os.urandom(4).hex()}")
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    return path


def tell(run_dir: str, cid: str, code: int) -> None:
    """Write the exit code into every waiter's file (none: nothing to do, nothing made)."""
    directory = _dir(run_dir, cid)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        try:
            fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            os.write(fd, str(code).encode())
        finally:
            os.close(fd)


def collect(path: str) -> int | None:
    """The code written for this waiter (None: none was), and its file gone; the directory too once empty."""
    try:
        with open(path) as f:
            text = f.read().strip()
        os.unlink(path)
    except FileNotFoundError:
        text = ""
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass  # other waiters still there
    return int(text) if text.lstrip("-").isdigit() else None


def sweep(run_dir: str) -> None:
    """Remove the files of waiters that died (a killed connection process), oldest first."""
    top = os.path.join(run_dir, "waits")
    try:
        cids = os.listdir(top)
    except FileNotFoundError:
        return
    for cid in cids:
        directory = os.path.join(top, cid)
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            pid = name.partition("-")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                try:
                    os.unlink(os.path.join(directory, name))
                except FileNotFoundError:
                    pass
        try:
            os.rmdir(directory)
        except OSError:
            pass
