"""Asking a running container's supervisor to do something only it can: today, start the embedded
DNS server when `network connect` gives a container its first user-defined network (the listeners
must live in the process that lives as long as the container; Docker's daemon starts the resolver
of a sandbox the same way, at the first endpoint that needs one).

    supervisor  ControlPoint: <container dir>/control.sock (SOCK_SEQPACKET), a thread that runs
                one named action per request and replies with its result as JSON
    command     request(): one request, one reply, under the container's lock (so the record
                the action reads is the one the command just wrote)
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable

from minicontainer.errors import MCError

SOCKET = "control.sock"
TIMEOUT = 10.0


class ControlPoint:
    def __init__(self, directory: str, actions: dict[str, Callable[[], dict]]):
        from minicontainer.runtime.unixsock import listen_in
        self.directory, self.actions = directory, actions
        self.listener = listen_in(directory, SOCKET, socket.SOCK_SEQPACKET)
        self.thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed: the container has exited
            with conn:
                conn.settimeout(TIMEOUT)
                try:
                    name = conn.recv(256).decode()
                    action = self.actions.get(name)
                    try:
                        result = action() if action else {"error": f"unknown request {name!r}"}
                    except Exception as exc:  # noqa: BLE001 - the asker gets the reason, the supervisor goes on
                        result = {"error": str(exc)}
                    conn.send(json.dumps(result).encode())
                except OSError:
                    continue

    def close(self) -> None:
        from minicontainer.runtime.unixsock import remove_in
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        remove_in(self.directory, SOCKET)


def request(directory: str, name: str) -> dict:
    """Ask the supervisor of the container in directory; its reply, or MCError if it cannot be asked
    or the action failed."""
    from minicontainer.runtime.unixsock import connect_in
    try:
        sock = connect_in(directory, SOCKET, socket.SOCK_SEQPACKET)
    except OSError:
        raise MCError("the container's supervisor does not listen for requests (it was started by an older "
                      "minicontainer): restart the container", 1) from None
    with sock:
        sock.settimeout(TIMEOUT)
        sock.send(name.encode())
        reply = json.loads(sock.recv(1 << 20) or b"{}")
    if "error" in reply:
        raise MCError(reply["error"], 1)
    return reply
