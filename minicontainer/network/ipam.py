"""Address leases, the way CNI's host-local IPAM keeps them: one file per leased address, created
with O_EXCL under a directory lock, holding the owner's container id. Leases survive crashes (they
are files) and concurrent commands (O_EXCL + the lock); a lease whose container is gone is freed."""

from __future__ import annotations

import ipaddress
import os

from minicontainer.errors import DaemonError
from minicontainer.store.locks import locked


class HostLocalIPAM:
    def __init__(self, directory: str, subnet: str, gateway: str):
        self.dir = directory
        self.subnet = ipaddress.ip_network(subnet)
        self.gateway = ipaddress.ip_address(gateway)
        os.makedirs(self.dir, exist_ok=True)

    def leases(self) -> dict[str, str]:
        out = {}
        for name in os.listdir(self.dir):
            if name[0].isdigit():
                with open(os.path.join(self.dir, name)) as f:
                    out[name] = f.read().strip()
        return out

    def allocate(self, owner: str, is_live=None) -> str:
        """First free address from .2 on (Docker reuses freed addresses). is_live(owner) -> bool lets a
        lease whose owner no longer exists be reclaimed."""
        with locked(os.path.join(self.dir, "lock")):
            for ip in self.subnet.hosts():
                if ip == self.gateway:
                    continue
                path = os.path.join(self.dir, str(ip))
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                except FileExistsError:
                    if is_live is None:
                        continue
                    with open(path) as f:
                        holder = f.read().strip()
                    if is_live(holder):
                        continue
                    os.unlink(path)  # a stale lease of a container that no longer exists
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                with os.fdopen(fd, "w") as f:
                    f.write(owner + "\n")
                return str(ip)
        raise DaemonError(f"no available IPv4 addresses on this network's address pools: {self.subnet}", 125)

    def release(self, ip: str, owner: str) -> None:
        path = os.path.join(self.dir, ip)
        with locked(os.path.join(self.dir, "lock")):
            try:
                with open(path) as f:
                    if f.read().strip() != owner:
                        return
                os.unlink(path)
            except FileNotFoundError:
                pass


def mac_for(ip: str) -> str:
    """Docker <= 27: 02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{int(b):02x}" for b in ip.split("."))
