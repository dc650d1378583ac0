"""Host name of a UTS namespace."""

import socket
from dataclasses import dataclass

from minicontainer.plan import Step


@dataclass
class SetHostname(Step):
    """The container's hostname, in its own UTS namespace."""

    hostname: str
    why = "the container has its own UTS namespace; Docker names it after the short container id"

    def do(self) -> None:
        socket.sethostname(self.hostname)

    def explain(self) -> str:
        return f"hostname {self.hostname}"
