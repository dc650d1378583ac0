"""One connection's requests, in order, in the process forked for it: parse, route, answer.
A handler's MCError becomes Docker's status and {"message": ...}; once a stream or a hijack has
begun there is no status left to send, and the connection just ends."""

from __future__ import annotations

import socket

from minicontainer import __version__
from minicontainer.engine import routes
from minicontainer.engine.errors import ApiError, message_of, status_of
from minicontainer.engine.http import BadRequest, Connection, Request
from minicontainer.errors import MCError

SERVER = f"minicontainer/{__version__}"
NO_RECOVER = ("/_ping", "/version")  # asked once per docker command: nothing of the state is read


def serve_connection(sock: socket.socket, rt) -> None:
    conn = Connection(sock, SERVER)
    try:
        while _one_request(conn, rt):
            pass
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()


def _one_request(conn: Connection, rt) -> bool:
    """Serve the next request; False when the connection is to end."""
    try:
        head = conn.read_head()
        if head is None:
            return False
        req = Request(conn, head)
    except BadRequest as exc:
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(str(exc)) + 15, b'{"message":"%s"}\n' % str(exc).encode()))
        return False
    resp = req.respond()
    handler, params = routes.find(req.method, req.path)
    try:
        if handler is None:
            if params:
                raise ApiError(405, f"method {req.method} not allowed for {req.path}")
            raise ApiError(404, f"page not found: {req.method} {req.path} is not served by minicontainer")
        if req.path not in NO_RECOVER:
            restored = rt.recover()
            if restored:  # the CLI says so on stderr; here, the service's log
                print(f"restored {len(restored)} firewall rules or chains (first: {restored[0]})", flush=True)
        handler(rt, req, resp, **params)
    except (MCError, ApiError, BadRequest) as exc:
        if resp.sent:
            return False
        status = 400 if isinstance(exc, BadRequest) else status_of(exc)
        resp.error(status, message_of(exc))
    except (BrokenPipeError, ConnectionResetError):
        return False
    except Exception as exc:  # noqa: BLE001 - a bug answers 500 with its text, the service goes on
        if resp.sent:
            return False
        resp.error(500, f"{type(exc).__name__}: {exc}")
    if resp.close or not resp.sent:
        return False
    try:
        req.body.drain()  # what a handler did not read of the body, before the next request
    except BadRequest:
        return False
    return True
