"""Address leases, the way CNI's host-local IPAM keeps them: one file per leased address, created
with O_EXCL under a directory lock, holding the owner's container id and the process that holds it
for the container (its supervisor: pid and start time). Leases survive concurrent commands (O_EXCL +
the lock); a lease whose holder process is gone (a crash) is reclaimed by the next allocation."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Set as AbstractSet

from minicontainer.errors import DaemonError
from minicontainer.kernel import proc
from minicontainer.store.locks import locked, write_atomic


def _held(lease: str, alive: AbstractSet[tuple[int, int]] = frozenset()) -> bool:
    """Is the process named in a lease ("CID PID START") still the one that took it? `alive`: holders
    (pid, start ticks) known to be alive already."""
    parts = lease.split()
    if len(parts) != 3:
        return False
    holder = (int(parts[1]), int(parts[2]))
    return holder in alive or proc.is_alive(*holder)


class HostLocalIPAM:
    def __init__(self, directory: str, subnet: str, gateway: str, ip_range: str = ""):
        self.dir = directory
        self.subnet = ipaddress.ip_network(subnet)
        self.pool = ipaddress.ip_network(ip_range) if ip_range else self.subnet  # --ip-range: dynamic ones only
        self.gateway = ipaddress.ip_address(gateway)

    def _ensure_dir(self) -> None:
        os.makedirs(self.dir, exist_ok=True)

    def allocate(self, owner: str, want: str = "", holder: tuple[int, int] | None = None) -> str:
        """The address `want` (--ip), else the first free one from .2 on (Docker reuses freed
        addresses), held by `holder` (pid, start ticks: the container's supervisor), this process
        by default."""
        pid = holder[0] if holder else os.getpid()
        lease = f"{owner} {pid} {holder[1] if holder else proc.start_ticks(pid)}\n"
        self._ensure_dir()
        with locked(os.path.join(self.dir, "lock")):
            return self._first_free(want, lambda ip: self._take(ip, lease))

    def _first(self, want: str, free) -> str:
        """`want` if free(want), else the first dynamic address that is free (never the gateway)."""
        for ip in [ipaddress.ip_address(want)] if want else self._dynamic():
            if ip != self.gateway and free(str(ip)):
                return str(ip)
            if want:
                raise DaemonError("Address already in use", 125)
        raise DaemonError(f"no available IPv4 addresses on this network's address pools: {self.pool}", 125)

    def _dynamic(self):
        """The addresses handed out when none is asked for: the range's, within the subnet's hosts."""
        hosts = self.subnet.hosts()
        return (ip for ip in hosts if ip in self.pool) if self.pool != self.subnet else hosts

    def _take(self, ip: str, lease: str) -> bool:
        """Create the lease file for ip unless a live holder has it (a dead one's is replaced)."""
        path = os.path.join(self.dir, ip)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            with open(path) as f:
                if _held(f.read()):
                    return False
            os.unlink(path)  # its supervisor died without releasing it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(lease)
        return True

    def next_free(self, want: str = "") -> str:
        """The address allocate() would hand out now, leasing nothing (for --dry-run)."""
        def free(ip: str) -> bool:
            path = os.path.join(self.dir, ip)
            return not (os.path.exists(path) and _held(open(path).read()))
        return self._first_free(want, free)

    def _first_free(self, want: str, free) -> str:
        """`want`, else the first dynamic address without a lease file that free() takes; only when
        there is none, the first that free() takes at all (a lease whose holder died). Every
        command's recover() frees dead holders' leases, so the first free address is found
        without reading each lease on the way (250 of them: 11 ms of a start)."""
        if want:
            return self._first(want, free)
        try:
            listed = set(os.listdir(self.dir))
        except FileNotFoundError:
            listed = set()
        try:
            return self._first("", lambda ip: ip not in listed and free(ip))
        except DaemonError:  # a full pool: look inside the leases
            return self._first("", free)

    def reclaim_dead(self, alive: AbstractSet[tuple[int, int]] = frozenset()) -> None:
        """Free the leases whose holder is gone (a supervisor killed before it could release them);
        `alive`: holders known to be alive."""
        try:
            names = [n for n in os.listdir(self.dir) if n != "lock"]
        except FileNotFoundError:
            return
        with locked(os.path.join(self.dir, "lock")):
            for name in names:
                path = os.path.join(self.dir, name)
                try:
                    with open(path) as f:
                        if not _held(f.read(), alive):
                            os.unlink(path)
                except FileNotFoundError:
                    pass

    def hand_over(self, ip: str, owner: str, holder: tuple[int, int]) -> None:
        """The lease of ip passes to another process (pid, start ticks): `network connect` takes it
        as its own, so a crash before the change is recorded frees it, then gives it to the supervisor."""
        path = os.path.join(self.dir, ip)
        with locked(os.path.join(self.dir, "lock")):
            with open(path) as f:
                if f.read().split()[:1] != [owner]:
                    raise DaemonError(f"the lease of {ip} is not {owner}'s", 1)
            write_atomic(path, f"{owner} {holder[0]} {holder[1]}\n")

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
