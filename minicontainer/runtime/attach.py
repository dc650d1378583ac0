"""`attach`: a terminal joins a running container's stdio, through a unix socket its supervisor listens on.

    supervisor  AttachPoint: <container dir>/attach.sock; every byte of the container's output is
                also sent to each attached client, what a client sends goes to the container's
                stdin (its pty with -t, its stdin pipe with -i)
    attach      attach_client(): the caller's stdin to the socket (raw, with a tty), the socket to
                its stdout, until the container's output ends or the detach keys are typed

The socket is in the container's directory (kernel/unixsock.py).
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


REPLAY_LIMIT = 64 * 1024


class AttachPoint:
    """The supervisor's end: a listening socket and the clients attached to it.

    stdin_once: a client that leaves ends the container's stdin (Config.StdinOnce, `docker run -i`).
    replay: keep what the container writes before the first client comes (up to 64 KiB) and give it
    to that client: an Engine API `docker run` attaches before the start but joins this socket only
    once the container runs, and a shell's first prompt must not be lost meanwhile."""

    def __init__(self, directory: str, stdin_once: bool = False, replay: bool = False, listener=None):
        from minicontainer.kernel.unixsock import listen_in
        self.directory = directory
        # listener: the socket itself, handed over across the monitor's exec
        self.listener = listener or listen_in(directory, SOCKET)
        self.clients: dict[int, socket.socket] = {}
        self.stdin_once = stdin_once
        self.early: bytearray | None = bytearray() if replay else None

    def fds(self) -> list[int]:
        return [self.listener.fileno(), *self.clients]

    def readable(self, fd: int) -> bytes | None:
        """Handle a readable fd of ours; returns what a client typed (b"" for none), None when a
        client left and the container's stdin is to end with it (stdin_once)."""
        if fd == self.listener.fileno():
            conn, _ = self.listener.accept()
            conn.settimeout(2)  # a client that stops reading is dropped, the container never waits for it
            self.clients[conn.fileno()] = conn
            if self.early is not None:
                early, self.early = bytes(self.early), None
                if early:
                    self.send(early)
            return b""
        conn = self.clients[fd]
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return None if self.stdin_once else b""
        return data

    def send(self, data: bytes) -> None:
        if self.early is not None:
            self.early += data[:REPLAY_LIMIT - len(self.early)]
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
        from minicontainer.kernel.unixsock import remove_in
        remove_in(self.directory, SOCKET)


def attach_client(directory: str, keys: bytes, forward_stdin: bool, raw: bool) -> bool:
    """Join the container's stdio until its output ends (False) or the detach keys are typed (True)."""
    from minicontainer.kernel.unixsock import connect_in
    try:
        sock = connect_in(directory, SOCKET)
    except OSError:
        raise MCError("cannot attach: the container's supervisor does not listen (it was started by an older "
                      "minicontainer, or in the foreground)", 1) from None
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
