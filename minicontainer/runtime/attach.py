"""`attach`: a terminal joins a running container's stdio, through a unix socket its supervisor listens on.

    supervisor  AttachPoint: <container dir>/attach.sock; every byte of the container's output is
                also sent to each attached client, what a client sends goes to the container's
                stdin (its pty with -t, its stdin pipe with -i)
    attach      attach_client(): the caller's stdin to the socket (raw, with a tty), the socket to
                its stdout, until the container's output ends or the detach keys are typed

The socket is bound through /proc/self/fd/N/ of the container's directory: a unix socket path may
have 107 bytes, a state root's container directory may be longer. The directory is root's (0710).
Output is one stream, as a tty's is (without -t, stdout and stderr arrive interleaved on stdout).
"""

from __future__ import annotations

import os
import select
import socket
import termios
import tty

from minicontainer.errors import MCError

SOCKET = "attach.sock"
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def detach_keys(spec: str) -> bytes:
    """Docker's --detach-keys syntax: comma-separated `ctrl-<letter or @[\\]^_>` or single characters."""
    out = bytearray()
    for key in (spec or DEFAULT_DETACH_KEYS).split(","):
        if key.startswith("ctrl-") and len(key) == 6:
            ch = key[5].lower()
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
                continue
            if ch in _CTRL_SPECIAL:
                out.append(_CTRL_SPECIAL[ch])
                continue
        elif len(key) == 1:
            out.append(ord(key))
            continue
        raise MCError(f"Unknown character: '{key}'", 1)
    return bytes(out)


def _path_via(dir_fd: int) -> str:
    return f"/proc/self/fd/{dir_fd}/{SOCKET}"


class AttachPoint:
    """The supervisor's end: a listening socket and the clients attached to it."""

    def __init__(self, directory: str):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                os.unlink(os.path.join(directory, SOCKET))  # one left by a supervisor killed before
            except FileNotFoundError:
                pass
            self.listener.bind(_path_via(dir_fd))
        finally:
            os.close(dir_fd)
        self.path = os.path.join(directory, SOCKET)
        self.listener.listen(8)
        self.clients: dict[int, socket.socket] = {}

    def fds(self) -> list[int]:
        return [self.listener.fileno(), *self.clients]

    def readable(self, fd: int) -> bytes:
        """Handle a readable fd of ours; returns what a client typed (b"" for none)."""
        if fd == self.listener.fileno():
            conn, _ = self.listener.accept()
            conn.settimeout(2)  # a client that stops reading is dropped, the container never waits for it
            self.clients[conn.fileno()] = conn
            return b""
        conn = self.clients[fd]
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
        return data

    def send(self, data: bytes) -> None:
        for fd, conn in list(self.clients.items()):
            try:
                conn.sendall(data)
            except OSError:
                self._drop(fd)

    def _drop(self, fd: int) -> None:
        self.clients.pop(fd).close()

    def close(self) -> None:
        for fd in list(self.clients):
            self._drop(fd)
        self.listener.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def attach_client(directory: str, keys: bytes, forward_stdin: bool, raw: bool) -> bool:
    """Join the container's stdio until its output ends (False) or the detach keys are typed (True)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sock.connect(_path_via(dir_fd))
    except OSError:
        raise MCError("cannot attach: the container's supervisor does not listen (it was started by an older "
                      "minicontainer, or in the foreground)", 1) from None
    finally:
        os.close(dir_fd)
    saved = termios.tcgetattr(0) if raw else None
    if raw:
        tty.setraw(0, termios.TCSANOW)  # TCSAFLUSH (the default) would drop what was typed before we got here
    held = b""  # a prefix of the detach keys typed so far, sent only if the sequence breaks off
    try:
        while True:
            rlist = [sock] + ([0] if forward_stdin else [])
            readable, _, _ = select.select(rlist, [], [])
            if sock in readable:
                data = sock.recv(65536)
                if not data:
                    return False
                while data:
                    data = data[os.write(1, data):]
            if 0 in readable:
                data = os.read(0, 4096)
                if not data:
                    forward_stdin = False
                    continue
                out = bytearray()
                for byte in data:
                    if byte == keys[len(held)]:
                        held += bytes([byte])
                        if len(held) == len(keys):
                            return True
                        continue
                    out += held + bytes([byte])
                    held = b""
                if out:
                    sock.sendall(bytes(out))
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        sock.close()
