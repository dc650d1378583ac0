"""Who a container can reach by name: the embedded resolver's answers, read from the state root.

Docker's rules (libnetwork's Sandbox.ResolveName, Network.ResolveName, ResolveIP):
  - only user-defined networks have names; on each, a container answers to its DNSNames: its name,
    its aliases on that network, its short id and its hostname
  - a name is looked up on the asker's networks in its endpoints' order (the gateway order); the
    first network where any container answers gives every address that answers there (several
    containers may share an alias); "NAME.NETWORK" asks that one network
  - an address on one of those networks maps back (PTR) to "NAME.NETWORK"

Nothing is told to the resolver: who is on a network is its lease files (a lease is taken at a start
or a connect and freed at a stop, a kill or a disconnect; a lease whose holder died counts for
nothing), so every answer is as fresh as the state root. Records and lease listings are cached by
their mtime, so a lookup is a few stat calls.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from minicontainer.kernel import proc
from minicontainer.specs.network import is_user_defined
from minicontainer.store.containers import ContainerRecord
from minicontainer.store.records import sandbox_order


def dns_names(name: str, aliases, short_id: str, hostname: str) -> list[str]:
    """Docker's DNSNames of an endpoint (buildEndpointDNSNames): name, aliases, short id, hostname; the
    first is the one PTR answers give."""
    return list(dict.fromkeys(n for n in (name, *aliases, short_id, hostname) if n))


@dataclass(frozen=True)
class Member:
    """A container on a network, as the resolver sees it."""

    cid: str
    ip: str
    names: tuple[str, ...]  # its DNSNames there
    keys: tuple[str, ...]   # the same, lower-cased: what a query matches (DNS names ignore case)


class _Cached:
    """One file's parsed content, read again only when its mtime changes."""

    def __init__(self, parse):
        self.parse = parse
        self.entries: dict[str, tuple[int, object]] = {}

    def get(self, path: str):
        try:
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            self.entries.pop(path, None)
            return None
        hit = self.entries.get(path)
        if hit is None or hit[0] != mtime:
            hit = (mtime, self.parse(path))
            self.entries[path] = hit
        return hit[1]


def _read_record(path: str) -> ContainerRecord | None:
    try:
        with open(path) as f:
            return ContainerRecord.from_json(json.load(f))
    except (FileNotFoundError, ValueError):
        return None


def _read_leases(directory: str) -> list[tuple[str, str, int, int]]:
    """(ip, cid, holder pid, holder start) of each lease file."""
    out = []
    for ip in os.listdir(directory):
        try:
            with open(os.path.join(directory, ip)) as f:
                fields = f.read().split()
        except (FileNotFoundError, IsADirectoryError):
            continue
        if len(fields) == 3:
            out.append((ip, fields[0], int(fields[1]), int(fields[2])))
    return out


class NameBook:
    """The names one container resolves (module docstring), from the state root at `root`."""

    def __init__(self, root: str, cid: str):
        self.root = root
        self.containers = os.path.join(root, "containers")
        self.networks = os.path.join(root, "networks")
        self.cid = cid
        self._records = _Cached(_read_record)
        self._leases = _Cached(_read_leases)

    def _record(self, cid: str) -> ContainerRecord | None:
        return self._records.get(os.path.join(self.containers, cid, "container.json"))

    def _networks(self) -> list[str]:
        """The asker's user-defined networks, in libnetwork's endpoint order."""
        rec = self._record(self.cid)
        return [ep.network for ep in sandbox_order(rec.endpoints if rec else []) if is_user_defined(ep.network)]

    def members(self, network: str) -> list[Member]:
        """The containers that hold a lease on the network now, with their names there."""
        out = []
        for ip, cid, pid, start in self._leases.get(os.path.join(self.networks, network, "leases")) or []:
            rec = self._record(cid)
            if rec is None or not proc.is_alive(pid, start):
                continue
            ep = next((e for e in rec.endpoints if e.network == network and e.ip == ip), None)
            if ep is None:
                continue  # leased, not yet (or no longer) recorded: a start or connect under way
            names = dns_names(rec.name, ep.aliases, cid[:12], rec.config.get("Hostname", ""))
            out.append(Member(cid, ip, tuple(names), tuple(n.lower() for n in names)))
        return out

    def lookup(self, name: str) -> list[str] | None:
        """The addresses `name` has on the first of the asker's networks where it is known, None if
        it is known on none of them (the resolver forwards it then)."""
        name = name.lower().rstrip(".")
        networks = self._networks()
        for network in networks:
            ips = [m.ip for m in self.members(network) if name in m.keys]
            if ips:
                return ips
        head, dot, network = name.rpartition(".")
        while dot:
            if network in networks:
                ips = [m.ip for m in self.members(network) if head in m.keys]
                if ips:
                    return ips
            head, dot, rest = head.rpartition(".")
            network = rest + "." + network
        return None

    def reverse(self, ip: str) -> str | None:
        """ "NAME.NETWORK" of the container with that address on one of the asker's networks."""
        for network in self._networks():
            for m in self.members(network):
                if m.ip == ip:
                    return f"{m.names[0]}.{network}"
        return None
