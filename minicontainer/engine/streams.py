"""logs and attach: a container's output to a client, framed (stdcopy: stdout 1, stderr 2) without
a TTY, raw with one; the client's stdin to the container.

Output comes from the json-file log the supervisor writes, which keeps stdout and stderr apart and
holds everything from the start (an attach comes before the start, docker-api.md §0.9). The log is
opened at attach time, so a --rm container's removal cannot take it away mid-read. With a TTY the
output comes from the supervisor's attach socket instead (runtime/attach.py), which passes a
prompt on at once where the log waits for the end of a line; stdin always goes there."""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import termios

from minicontainer.clock import parse_time
from minicontainer.engine.errors import ApiError
from minicontainer.engine.http import frame
from minicontainer.engine.routes import route
from minicontainer.store.jsonlines import JsonLines

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"
POLL = 0.02
_STREAM_IDS = {"stdout": 1, "stderr": 2}


class Selection:
    """Which entries a client asked for and how they go out."""

    def __init__(self, req, tty: bool):
        self.streams = {s for s in ("stdout", "stderr") if req.flag(s)}
        self.timestamps = req.flag("timestamps")
        self.since = _time_param(req, "since")
        self.until = _time_param(req, "until")
        self.tty = tty

    def encode(self, entries: list[dict]) -> bytes:
        out = []
        for e in entries:
            if e["stream"] not in self.streams:
                continue
            if self.since or self.until:
                t = parse_time(e["time"])
                if (self.since and t < self.since) or (self.until and t > self.until):
                    continue
            data = ((e["time"] + " ") if self.timestamps else "") + e["log"]
            raw = data.encode()
            out.append(raw if self.tty else frame(_STREAM_IDS[e["stream"]], raw))
        return b"".join(out)


def _time_param(req, name: str) -> float:
    value = req.query.get(name, "")
    if not value or value == "0":
        return 0.0
    try:
        return float(value)
    except ValueError:
        try:
            return parse_time(value)
        except ValueError:
            raise ApiError(400, f"invalid value for {name}: {value}") from None


def _tail(entries: list[dict], tail: str) -> list[dict]:
    if tail in ("", "all"):
        return entries
    try:
        n = int(tail)
    except ValueError:
        raise ApiError(400, f'invalid value for "tail": {tail}') from None
    return entries[-n:] if n > 0 else ([] if n == 0 else entries)


@route("GET", "/containers/{ref}/logs")
def logs(rt, req, resp, ref: str) -> None:
    rec = rt.get(ref)
    pick = Selection(req, bool(rec.config.get("Tty")))
    if not pick.streams:
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    tail = req.query.get("tail", "all")
    log = JsonLines.open(rt.containers.log_path(rec.id), create=True)
    try:
        out = resp.stream(200, RAW if pick.tty else MULTIPLEXED)
        out.write(pick.encode(_tail(log.read(), tail)))
        while req.flag("follow"):
            now = rt.current(rec.id)
            if now is None or not now.running:
                out.write(pick.encode(log.read()))
                break
            if req.conn.hung_up(POLL):
                return
            out.write(pick.encode(log.read()))
        out.close()
    finally:
        log.close()


@route("POST", "/containers/{ref}/attach")
def attach(rt, req, resp, ref: str) -> None:
    """Hijack the connection; stream the output until the container has run and stopped; pass
    stdin on once it runs. A client without stdin half-closes at once: that ends nothing."""
    rec = rt.get(ref)
    tty = bool(rec.config.get("Tty"))
    pick = Selection(req, tty)
    stdin = req.flag("stdin") and bool(rec.config.get("OpenStdin"))
    from minicontainer.runtime.attach import detach_keys
    keys = detach_keys(req.query.get("detachKeys", ""))  # a bad one is refused before the hijack
    log = JsonLines.open(rt.containers.log_path(rec.id), from_end=not req.flag("logs"), create=True)
    try:
        conn = resp.hijack(RAW if tty else MULTIPLEXED)
        if not req.flag("stream"):
            conn.send(pick.encode(log.read()))
            return
        _Attached(rt, rec, conn, log, pick, stdin, keys).run()
    finally:
        log.close()


class _Attached:
    def __init__(self, rt, rec, conn, log: JsonLines, pick: Selection, stdin: bool, keys: bytes):
        self.rt, self.rec, self.conn, self.log, self.pick = rt, rec, conn, log, pick
        self.keys, self.held = keys, b""  # the detach keys, and the part of them typed so far
        self.typed = conn.take_buffered() if stdin else b""
        self.reading_client = stdin
        self.inner: socket.socket | None = None  # our connection to the supervisor's attach socket
        self.use_inner_output = pick.tty  # raw bytes as they come; the log holds back a line's start
        self.wants_inner = stdin or pick.tty
        self.was_running = rec.running
        self.first_start = rec.started_at

    def _over(self, now) -> bool:
        return now is None or (not now.running and (self.was_running or now.started_at != self.first_start))

    def run(self) -> None:
        from minicontainer.kernel.unixsock import connect_in
        from minicontainer.runtime.attach import SOCKET
        client = self.conn.sock
        try:
            while True:
                now = self.rt.current(self.rec.id)
                if self._over(now) and self.inner is None:
                    self.conn.send(self.pick.encode(self.log.read()))
                    return
                if now is not None and now.running and self.wants_inner and self.inner is None:
                    try:
                        self.inner = connect_in(self.rt.containers.dir(now.id), SOCKET)
                    except OSError:
                        pass  # not listening yet, or gone already
                    self.was_running = True
                if not self.use_inner_output or self.inner is None:
                    entries = self.log.read()
                    if self.use_inner_output:
                        entries = []  # a TTY's output comes from the socket; before it, nothing is lost (replayed)
                    self.conn.send(self.pick.encode(entries))
                if self.inner is not None and self.typed:
                    self.inner.sendall(self.typed)
                    self.typed = b""
                rlist = ([client] if self.reading_client else []) + ([self.inner] if self.inner is not None else [])
                ready, _, _ = select.select(rlist, [], [], POLL)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        self.reading_client = False
                        if self.inner is not None and not self.pick.tty:
                            self.inner.shutdown(1)  # our stdin ended: StdinOnce ends the container's
                    else:
                        typed, detached = self._watch_keys(data)
                        self.typed += typed
                        if detached:
                            return  # the client detaches; the container runs on
                if self.inner is not None and self.inner in ready:
                    data = self.inner.recv(65536)
                    if not data:  # the container's output ended
                        if not self.use_inner_output:
                            self._drain_log()
                        return
                    if self.use_inner_output:
                        self.conn.send(data)
        finally:
            if self.inner is not None:
                self.inner.close()

    def _watch_keys(self, data: bytes) -> tuple[bytes, bool]:
        """What of data goes to the container, and whether the detach keys were typed (a prefix of
        them is held back until the sequence completes or breaks off, as the docker CLI does)."""
        out = bytearray()
        for byte in data:
            if byte == self.keys[len(self.held)]:
                self.held += bytes([byte])
                if len(self.held) == len(self.keys):
                    return bytes(out), True
                continue
            out += self.held + bytes([byte])
            self.held = b""
        return bytes(out), False

    def _drain_log(self) -> None:
        """After the output ended, what the log still gets until the supervisor records the exit."""
        while True:
            now = self.rt.current(self.rec.id)
            self.conn.send(self.pick.encode(self.log.read()))
            if now is None or not now.running:
                self.conn.send(self.pick.encode(self.log.read()))
                return
            select.select([], [], [], POLL)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []



def set_winsize(pid: int, rows: int, cols: int) -> None:
    """A TTY's new size: TIOCSWINSZ on the process's terminal (its fd 0, the pty's slave), which
    sends its foreground process group SIGWINCH, as a resize of the master would. An exec's pid is
    the one that joined the container's namespaces; the terminal is its child's (runtime/spawn.py)."""
    if rows <= 0 or cols <= 0:
        raise ApiError(400, f"invalid size: {rows}x{cols}")
    fd = None
    for holder in [pid, *_children(pid)]:
        try:
            fd = os.open(f"/proc/{holder}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            continue
        if os.isatty(fd):
            break
        os.close(fd)
        fd = None
    if fd is None:
        raise ApiError(500, f"cannot reach the terminal of process {pid}")
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    except OSError as exc:
        raise ApiError(500, f"cannot resize the terminal: {exc.strerror}") from None
    finally:
        os.close(fd)
