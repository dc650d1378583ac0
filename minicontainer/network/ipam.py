"""Address leases, the way CNI's host-local IPAM keeps them: one file per leased address, created
with O_EXCL under a directory lock, holding the owner's container id and the process that holds it
for the container (its supervisor: pid and start time). Leases survive concurrent commands (O_EXCL +
the lock); a lease whose holder process is gone (a crash) is reclaimed by the next allocation."""

from __future__ import annotations

import ipaddress
import os

from minicontainer.errors import DaemonError
from minicontainer.kernel import proc
from minicontainer.store.locks import locked


def _held(lease: str) -> bool:
    """Is the process named in a lease ("CID PID START") still the one that took it?"""
    parts = lease.split()
    return len(parts) == 3 and proc.is_alive(int(parts[1]), int(parts[2]))


class HostLocalIPAM:
    def __init__(self, directory: str, subnet: str, gateway: str):
        self.dir = directory
        self.subnet = ipaddress.ip_network(subnet)
        self.gateway = ipaddress.ip_address(gateway)

    def _ensure_dir(self) -> None:
        os.makedirs(self.dir, exist_ok=True)

    def allocate(self, owner: str) -> str:
        """First free address from .2 on (Docker reuses freed addresses), held by this process."""
        me = os.getpid()
        lease = f"{owner} {me} {proc.start_ticks(me)}\n"
        self._ensure_dir()
        with locked(os.path.join(self.dir, "lock")):
            for ip in self.subnet.hosts():
                if ip == self.gateway:
                    continue
                path = os.path.join(self.dir, str(ip))
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                except FileExistsError:
                    with open(path) as f:
                        if _held(f.read()):
                            continue
                    os.unlink(path)  # its supervisor died without releasing it
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
                with os.fdopen(fd, "w") as f:
                    f.write(lease)
                return str(ip)
        raise DaemonError(f"no available IPv4 addresses on this network's address pools: {self.subnet}", 125)

    def next_free(self) -> str:
        """The address allocate() would hand out now, leasing nothing (for --dry-run)."""
        for ip in self.subnet.hosts():
            path = os.path.join(self.dir, str(ip))
            if ip != self.gateway and not (os.path.exists(path) and _held(open(path).read())):
                return str(ip)
        raise DaemonError(f"no available IPv4 addresses on this network's address pools: {self.subnet}", 125)

    def reclaim_dead(self) -> None:
        """Free the leases whose holder is gone (a supervisor killed before it could release them)."""
        try:
            names = [n for n in os.listdir(self.dir) if n != "lock"]
        except FileNotFoundError:
            return
        with locked(os.path.join(self.dir, "lock")):
            for name in names:
                path = os.path.join(self.dir, name)
                try:
                    with open(path) as f:
                        if not _held(f.read()):
                            os.unlink(path)
                except FileNotFoundError:
                    pass

    def release(self, ip: str, owner: str) -> None:
        path = os.path.join(self.dir, ip)
        self._ensure_dir()
        with locked(os.path.join(self.dir, "lock")):
            try:
                with open(path) as f:
                    if f.read().split()[:1] != [owner]:
                        return
                os.unlink(path)
            except FileNotFoundError:
                pass


def mac_for(ip: str) -> str:
    """Docker <= 27: 02:42 followed by the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{int(b):02x}" for b in ip.split("."))
