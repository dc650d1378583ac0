"""Asking a running container's supervisor to do something only it can, because the sockets must
live in the process that lives as long as the container: start the embedded DNS server when
`network connect` gives a container its first user-defined network (Docker's daemon starts the
resolver of a sandbox the same way, at the first endpoint that needs one), and serve or stop a
userland proxy when a connect moves the published ports to another address.

    supervisor  ControlPoint: <container dir>/control.sock (SOCK_SEQPACKET), a thread that runs
                one named action per request, {"action": NAME, "args": {...}}, and replies with
                its result as JSON
    command     request(): one request, one reply, under the container's lock (so the record
                the action reads is the one the command just wrote)
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from minicontainer.errors import MCError

SOCKET = "control.sock"
TIMEOUT = 10.0


class ControlPoint:
    def __init__(self, directory: str, actions: dict[str, Callable[..., dict]], listener=None):
        from minicontainer.kernel.unixsock import listen_in
        self.directory, self.actions = directory, actions
        # listener: the socket itself, handed over across the monitor's exec
        self.listener = listener or listen_in(directory, SOCKET, socket.SOCK_SEQPACKET)
        self.thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed: the container has exited
            import json  # at the first request: the monitor stays up as long as the container, most never get one
            with conn:
                conn.settimeout(TIMEOUT)
                try:
                    asked = json.loads(conn.recv(1 << 16) or b"{}")
                    name = asked.get("action", "")
                    action = self.actions.get(name)
                    try:
                        result = action(**asked.get("args", {})) if action else {"error": f"unknown request {name!r}"}
                    except Exception as exc:  # noqa: BLE001 - the asker gets the reason, the supervisor goes on
                        result = {"error": str(exc)}
                    conn.send(json.dumps(result).encode())
                except (OSError, ValueError):  # a client gone, or a request not ours
                    continue

    def close(self) -> None:
        from minicontainer.kernel.unixsock import remove_in
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        remove_in(self.directory, SOCKET)


def request(directory: str, name: str, **args) -> dict:
    """Ask the supervisor of the container in directory; its reply, or MCError if it cannot be asked
    or the action failed."""
    import json

    from minicontainer.kernel.unixsock import connect_in
    try:
        sock = connect_in(directory, SOCKET, socket.SOCK_SEQPACKET)
    except OSError:
        raise MCError("the container's supervisor does not listen for requests (it was started by an older "
                      "minicontainer): restart the container", 1) from None
    with sock:
        sock.settimeout(TIMEOUT)
        sock.send(json.dumps({"action": name, "args": args}).encode())
        reply = json.loads(sock.recv(1 << 20) or b"{}")
    if "error" in reply:
        raise MCError(reply["error"], 1)
    return reply
