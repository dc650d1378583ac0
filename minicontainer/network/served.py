"""What a supervisor serves for its container besides its stdio: the userland proxies of its
published ports, the sockets that hold a port without a proxy, the embedded DNS listeners.

Each is a Service: open descriptors and a JSON description of how to serve them. A detached
supervisor starts its container with the whole runtime loaded, then execs the lean monitor
(runtime/monitor.py), which loads only what waiting needs. The descriptors cross that exec
(handover), and the monitor serves them again from their descriptions (adopt). Until the exec a
detached supervisor serves nothing (defer): a thread that accepted a connection just before it
would drop it; the kernel's backlog holds the connections meanwhile.

The steps that make these (network/ports.py, network/embedded_dns.py) register them here; their
undo stops them. In any other process the services died with the supervisor that held them.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing alone weighs 2 MB in a monitor that stays up as long as the container
if TYPE_CHECKING:
    from typing import Protocol

    class Service(Protocol):
        def key(self) -> tuple: ...
        def fds(self) -> list[int]: ...  # what must stay open across the exec
        def describe(self) -> dict: ...  # {"kind": ..., ...}: enough to serve fds() again
        def serve(self) -> None: ...
        def close(self) -> None: ...


# kind -> "module:factory", factory(description, fds) -> Service; imported only when adopted
KINDS = {
    "proxy": "minicontainer.network.proxy:adopt",
    "hold": "minicontainer.network.served:HeldSocket.adopt",
    "dns": "minicontainer.network.resolver:adopt",
}

_services: dict[tuple, Service] = {}
_supervised: set[str] = set()  # the directories of the containers this process supervises
_deferred = False


def supervise(directory: str) -> None:
    """This process is the supervisor of the container in directory: its steps serve from here."""
    _supervised.add(directory)


def supervises(directory: str) -> bool:
    return not directory or directory in _supervised


def add(service: Service) -> None:
    """Serve it from this process (at once, unless serving is deferred to the monitor)."""
    _services[service.key()] = service
    if not _deferred:
        service.serve()


def stop(key: tuple) -> bool:
    """Stop and close the service; False if this process does not hold it."""
    service = _services.pop(key, None)
    if service is None:
        return False
    service.close()
    return True


def defer() -> None:
    """This process will exec the monitor: register, but leave the serving to it."""
    global _deferred
    _deferred = True


def handover() -> list[dict]:
    """The descriptions, each with the descriptors it needs ("fds"; the monitor's exec keeps them open)."""
    return [{**service.describe(), "fds": service.fds()} for service in _services.values()]


def adopt(descriptions: list[dict]) -> None:
    """In the monitor: serve again what the supervisor handed over."""
    for desc in descriptions:
        module, _, name = KINDS[desc["kind"]].partition(":")
        factory: object = importlib.import_module(module)
        for part in name.split("."):
            factory = getattr(factory, part)
        assert callable(factory)
        add(factory(desc, desc["fds"]))


class HeldSocket:
    """--userland-proxy=false: a bound socket that never listens keeps the host port ours, as
    Docker's dummy proxy does (DNAT rewrites the packets before any socket lookup, so it never
    sees a connection). Nothing to serve: it only has to stay open."""

    def __init__(self, key: tuple, sock):
        self._key, self.sock = key, sock

    def key(self) -> tuple:
        return self._key

    def fds(self) -> list[int]:
        return [self.sock.fileno()]

    def describe(self) -> dict:
        return {"kind": "hold", "key": list(self._key)}

    def serve(self) -> None:
        pass

    def close(self) -> None:
        self.sock.close()

    @classmethod
    def adopt(cls, desc: dict, fds: list[int]) -> HeldSocket:
        import socket
        return cls(tuple(desc["key"]), socket.socket(fileno=fds[0]))
