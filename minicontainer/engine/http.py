"""HTTP/1.1 on one connection, as much as the docker CLI and docker-py speak: requests with a
Content-Length or chunked body, JSON replies, chunked streams (flushed per write: docker-py reads
a stream only if it is chunked), and the hijack (101 UPGRADED, then raw bytes both ways).

Our own reader over the socket, not http.server's: after a hijack the bytes already read past the
headers are the client's stdin, and they must not be left behind in a buffer we cannot reach."""

from __future__ import annotations

import json
import re
import select
import socket
import time
from urllib.parse import parse_qs, unquote

from minicontainer.engine.errors import ApiError

API_VERSION = "1.44"  # the 29.x CLI refuses servers below 1.44 (docker-api.md §1.1)
MIN_API_VERSION = "1.24"
MAX_HEADER = 64 * 1024
_VERSIONED = re.compile(r"^/v(\d+\.\d+)(/.*)$")
REASONS = {101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
           400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable"}


class BadRequest(Exception):
    """The bytes are not an HTTP request we can read: answer 400 and close."""


class Connection:
    """A client's socket and what has been read from it but not used yet."""

    def __init__(self, sock: socket.socket, server_name: str):
        self.sock = sock
        self.buf = bytearray()
        self.server_name = server_name

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def read_head(self) -> bytes | None:
        """The request line and headers, None at a clean end of the connection."""
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if len(self.buf) > MAX_HEADER:
                raise BadRequest("request header too long")
            if not self._fill():
                if self.buf.strip():
                    raise BadRequest("connection closed inside a request header")
                return None
        head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        return head

    def read(self, n: int) -> bytes:
        """Up to n bytes: what is buffered first, else one recv (b"" at the end)."""
        if not self.buf and not self._fill():
            return b""
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise BadRequest("connection closed inside a request body")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            if not self._fill():
                raise BadRequest("connection closed inside a chunk header")
        line = bytes(self.buf[:end])
        del self.buf[:end + 2]
        return line

    def take_buffered(self) -> bytes:
        """What was read past the request (after a hijack: the first bytes of the client's stdin)."""
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def hung_up(self, timeout: float) -> bool:
        """Wait up to timeout while a reply is being prepared (a wait, a follow); True as soon as
        the client has closed the connection. Bytes it sent early stay for the next request."""
        if not select.select([self.sock], [], [], timeout)[0]:
            return False
        try:
            if self.sock.recv(1, socket.MSG_PEEK) == b"":
                return True
        except OSError:
            return True
        time.sleep(timeout)  # readable with data, not EOF: no busy loop over it
        return False


class Body:
    """A request body read as a stream: Content-Length bytes, or chunks until the last one."""

    def __init__(self, conn: Connection, length: int | None, chunked: bool):
        self.conn, self.left, self.chunked, self.done = conn, length or 0, chunked, not chunked and not length

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts = []
            while data := self.read(1 << 20):
                parts.append(data)
            return b"".join(parts)
        while not self.done:
            if self.left == 0 and self.chunked:
                size_line = self.conn.read_line().split(b";")[0].strip()
                try:
                    self.left = int(size_line, 16)
                except ValueError:
                    raise BadRequest(f"bad chunk size {size_line!r}") from None
                if self.left == 0:
                    while self.conn.read_line():  # trailers, up to the empty line
                        pass
                    self.done = True
                    return b""
            data = self.conn.read(min(n, self.left))
            if not data:
                raise BadRequest("connection closed inside a request body")
            self.left -= len(data)
            if self.left == 0:
                if self.chunked:
                    self.conn.read_exact(2)  # the CRLF after a chunk
                else:
                    self.done = True
            return data
        return b""

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class Request:
    def __init__(self, conn: Connection, head: bytes):
        lines = head.decode("latin-1").split("\r\n")
        try:
            self.method, target, self.protocol = lines[0].split(" ")
        except ValueError:
            raise BadRequest(f"bad request line {lines[0]!r}") from None
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if not sep:
                raise BadRequest(f"bad header line {line!r}")
            self.headers[key.strip().lower()] = value.strip()
        raw_path, _, qs = target.partition("?")
        versioned = _VERSIONED.match(raw_path)
        self.version = versioned.group(1) if versioned else ""
        self.path = unquote(versioned.group(2) if versioned else raw_path)
        self.query = {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()}
        self.conn = conn
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        try:
            self.body = Body(conn, int(length) if length and not chunked else None, chunked)
        except ValueError:
            raise BadRequest(f"bad Content-Length {length!r}") from None
        self.response: Response | None = None

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter as the daemon reads one (httputils.BoolValue)."""
        value = self.query.get(name)
        if value is None:
            return default
        return value.strip().lower() not in ("", "0", "no", "false", "none")

    def number(self, name: str, default: int | None = None) -> int | None:
        value = self.query.get(name, "")
        if value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(400, f"invalid value for {name}: {value}") from None

    def json(self) -> dict:
        data = self.body.read()
        if not data.strip():
            return {}
        try:
            value = json.loads(data)
        except ValueError as exc:
            raise ApiError(400, f"invalid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ApiError(400, "invalid JSON: the body is not an object")
        return value

    def json_filters(self) -> dict[str, list[str]]:
        """?filters= in either shape the clients send: {"k": {"v": true}} or the older {"k": ["v"]}."""
        raw = self.query.get("filters", "")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise ApiError(400, f"invalid filter '{raw}'") from None
        out = {}
        for key, values in (value or {}).items():
            out[key] = [v for v, on in values.items() if on] if isinstance(values, dict) else list(values)
        return out

    @property
    def close_after(self) -> bool:
        return self.headers.get("connection", "").lower() == "close" or self.protocol == "HTTP/1.0"

    @property
    def upgrade(self) -> bool:
        return "upgrade" in self.headers.get("connection", "").lower() and bool(self.headers.get("upgrade"))

    def respond(self) -> Response:
        self.response = Response(self)
        return self.response


class Response:
    """What goes back, once: a whole body, a chunked stream, or a hijack."""

    def __init__(self, req: Request):
        self.req, self.sent, self.close = req, False, req.close_after

    def _head(self, status: int, headers: dict[str, str]) -> bytes:
        base = {"Api-Version": API_VERSION, "Docker-Experimental": "false", "Ostype": "linux",
                "Server": f"{self.req.conn.server_name} (linux)"}
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in {**base, **headers}.items()]
        if self.close and "Connection" not in headers:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, status: int, body: bytes = b"", content_type: str = "", headers: dict | None = None) -> None:
        extra = dict(headers or {})
        if content_type:
            extra["Content-Type"] = content_type
        if status not in (204, 304):
            extra["Content-Length"] = str(len(body))
        self.sent = True
        self.req.conn.send(self._head(status, extra) + (b"" if self.req.method == "HEAD" else body))

    def json(self, status: int, value, headers: dict | None = None) -> None:
        self.send(status, json.dumps(value).encode() + b"\n", "application/json", headers)

    def error(self, status: int, message: str) -> None:
        # exactly application/json: the Go client compares the header with == (docker-api.md §0.6)
        self.json(status, {"message": message})

    def stream(self, status: int, content_type: str, headers: dict | None = None, buffer: int = 0) -> ChunkedStream:
        self.sent = True
        self.req.conn.send(self._head(status, {"Content-Type": content_type, "Transfer-Encoding": "chunked",
                                               **(headers or {})}))
        return ChunkedStream(self.req.conn, buffer)

    def hijack(self, content_type: str) -> Connection:
        """101 UPGRADED in a write of its own (docker-py loses bytes that arrive with it, docker-api.md
        §4), then the connection is the caller's; it ends with the caller."""
        self.sent, self.close = True, True
        if self.req.upgrade:
            self.req.conn.send(self._head(101, {"Content-Type": content_type, "Connection": "Upgrade",
                                                "Upgrade": "tcp"}))
        else:  # an old client: 200 and the raw stream until we close
            self.req.conn.send(self._head(200, {"Content-Type": content_type}))
        return self.req.conn


class ChunkedStream:
    """A streamed body: each write is one chunk on the wire at once (logs, progress: the client
    shows them as they come), or with buffer, chunks of that size (a tar)."""

    def __init__(self, conn: Connection, buffer: int = 0):
        self.conn, self.closed, self.limit, self.held = conn, False, buffer, bytearray()

    def write(self, data: bytes) -> int:
        self.held += data
        if len(self.held) >= self.limit:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.held:
            self.conn.send(b"%x\r\n" % len(self.held) + bytes(self.held) + b"\r\n")
            self.held.clear()

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True
            self.conn.send(b"0\r\n\r\n")


def frame(stream: int, data: bytes) -> bytes:
    """One frame of the multiplexed stream (stdcopy): stream id, three zeros, big-endian length."""
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data
