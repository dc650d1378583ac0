"""The listener of `minicontainer system service`: a unix socket (0660, root-equivalent), one
forked process per connection, and the exit after --time idle seconds.

The listening process stays single-threaded and only accepts and forks: a connection's process
may fork again (a container start, an exec) without the hazards of forking a threaded process.
Nothing of a container lives here; its supervisor is not our child, so stopping the service (or
killing it) leaves every container running, and the next service serves them."""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time

SOCKET_NAME = "docker.sock"  # in the state root's run directory: /run/minicontainer/docker.sock by default


def listen(address: str) -> socket.socket:
    """The listening socket: systemd's (LISTEN_FDS, fd 3) if we were socket-activated, else a unix
    socket at address (unix://PATH or PATH) made for root only, or tcp://HOST:PORT when asked."""
    if os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS") == "1":
        for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):  # not for the containers we start
            os.environ.pop(key, None)
        return socket.socket(fileno=3)
    if address.startswith("tcp://"):
        host, _, port = address[len("tcp://"):].rpartition(":")
        sock = socket.create_server((host or "127.0.0.1", int(port)))
        return sock
    path = address.removeprefix("unix://")
    if len(path.encode()) > 107:  # sun_path: refused before anything is touched
        raise OSError(36, "AF_UNIX path too long (107 bytes at most)")
    if not os.path.isdir(os.path.dirname(path) or "."):  # the default, the root's run directory, exists
        raise OSError(2, f"no such directory: {os.path.dirname(path)}")
    try:
        os.unlink(path)  # a socket a killed service left
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o117)  # 0660 from the start: no moment when others could connect
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(128)
    return sock


def serve(listener: socket.socket, idle: float, handle) -> None:
    """Accept until SIGTERM/SIGINT, or until `idle` seconds pass with no connection open (0: never).
    handle(sock) serves one connection in a child process."""
    stopping = []

    def stop(_signum, _frame) -> None:
        stopping.append(True)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children: set[int] = set()
    quiet_since = time.monotonic()
    while not stopping:
        _reap(children)
        if children:
            quiet_since = time.monotonic()
        wait = 0.2 if children or not idle else max(0.0, quiet_since + idle - time.monotonic())
        if not children and idle and time.monotonic() - quiet_since >= idle:
            break
        try:
            ready, _, _ = select.select([listener], [], [], wait)
        except InterruptedError:
            continue
        if not ready or stopping:
            continue
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                listener.close()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                handle(conn)
            except BaseException:  # noqa: BLE001 - a connection's process never returns into the listener
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        conn.close()
        children.add(pid)
    listener.close()
    # connections in progress finish on their own (a `docker run` waiting is not cut off)


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)
