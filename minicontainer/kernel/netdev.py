"""Interface flags through the classic ioctl: cheap enough for every container start (no netlink
library import), used to bring up `lo` inside a new network namespace."""

import fcntl
import socket
import struct
from dataclasses import dataclass

from minicontainer.plan import Step

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


@dataclass
class LinkUp(Step):
    """Set a link up (the container's lo)."""

    ifname: str
    why = "a new network namespace starts with only `lo`, and down"

    def do(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sH", self.ifname.encode(), 0)
            flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req + b"\0" * 22)[:18])[1]
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH", self.ifname.encode(), flags | IFF_UP) + b"\0" * 22)

    def explain(self) -> str:
        return f"ip link set {self.ifname} up"
