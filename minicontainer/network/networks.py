"""Bridge networks' records: the docker0-like default one, user-defined ones, their subnets and leases.

A network is <root>/networks/<name>/network.json plus its leases. Its bridge, addresses and firewall
rules (network/bridge.py) are created on first use and stay (like docker0) until `network rm`.
Settings for the default network (env, so tests can pick their own and never touch the user's):
MINICONTAINER_BRIDGE (default mc0), MINICONTAINER_SUBNET (default: the first free /16 from
172.17.0.0/16 up), MINICONTAINER_CHAIN_PREFIX (default MC).

MINICONTAINER_USERLAND_PROXY (the global flag --userland-proxy=false sets it) is dockerd's
--userland-proxy: a host-wide choice, because the OUTPUT hook it changes is shared by every network
behind the same chains. A network keeps the mode it was created with; asking for the other mode while
such networks exist is an error rather than a silent mix. The firewall backend is chosen the same
way (MINICONTAINER_IPTABLES_BACKEND, the global --iptables-backend; network/backends.py): what the
networks behind the same chains use, else the host's `iptables`; each record keeps the backend that
wrote its rules, so that removing and repairing them look where they are.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field

from minicontainer.errors import DaemonError
from minicontainer.network.ipam import HostLocalIPAM
from minicontainer.store.locks import locked, write_atomic
from minicontainer.store.root import StateRoot

DEFAULT_NETWORK = "bridge"
PREDEFINED_DRIVERS = {"bridge": "bridge", "host": "host", "none": "null"}  # Docker's three, always there


@dataclass
class Network:
    """A bridge network's record: its bridge, subnet, gateway, chains and proxy mode."""

    name: str
    id: str
    bridge: str
    subnet: str
    gateway: str
    chain_prefix: str = "MC"
    userland_proxy: bool = True
    internal: bool = False          # --internal: no way in or out of the bridge, no default route
    icc: bool = True                # -o com.docker.network.bridge.enable_icc
    masquerade: bool = True         # -o com.docker.network.bridge.enable_ip_masquerade
    mtu: int = 0                    # -o com.docker.network.driver.mtu (0: the kernel's 1500)
    host_binding_ipv4: str = ""     # -o com.docker.network.bridge.host_binding_ipv4: -p's default address
    ip_range: str = ""              # --ip-range: where dynamic addresses come from
    labels: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # the -o options as given (network inspect's Options)
    created: str = ""
    driver: str = "bridge"          # bridge; host and null for the predefined host and none networks
    firewall_backend: str = "legacy"  # where its rules are: legacy or nft (records older than the choice: legacy)

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen


def candidate_subnets():
    """Docker's default local pools: 172.17-31.0.0/16, then 192.168.0.0/16 split into /20s."""
    for second in range(17, 32):
        yield ipaddress.ip_network(f"172.{second}.0.0/16")
    yield from ipaddress.ip_network("192.168.0.0/16").subnets(new_prefix=20)


def pick_subnet(in_use: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    for net in candidate_subnets():
        if not any(net.overlaps(other) for other in in_use):
            return net
    raise DaemonError("could not find an available, non-overlapping IPv4 address pool among the defaults", 125)


def requested_userland_proxy() -> bool | None:
    """The mode asked for on this command line (None: not asked, use what the networks already have)."""
    value = os.environ.get("MINICONTAINER_USERLAND_PROXY", "")
    if not value:
        return None
    return value.lower() not in ("0", "false", "f", "no")


def attached_to(net: Network, running: list) -> list:
    """The running containers (records) with an endpoint on net."""
    return [r for r in running if r.endpoint_on(net.name) is not None]


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route and address on the host: a new subnet must overlap none of them."""
    from minicontainer.kernel.netlink import iproute
    nets = []
    with iproute() as ipr:
        for r in ipr.get_routes(family=2):
            dst = r.get_attr("RTA_DST")
            if dst:
                nets.append(ipaddress.ip_network(f"{dst}/{r['dst_len']}", strict=False))
        for a in ipr.get_addr(family=2):
            nets.append(ipaddress.ip_network(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}", strict=False))
    return nets


# Where a namespace playing another machine gets its /30 link to the host (outside.py, the tour).
LINK_POOL = ipaddress.ip_network("10.253.0.0/16")


def free_link() -> ipaddress.IPv4Network:
    """A /30 of LINK_POOL that no host route or address overlaps: .1 the host's end, .2 the other's."""
    import random
    taken = host_networks()
    return random.choice([n for n in LINK_POOL.subnets(new_prefix=30) if not any(n.overlaps(t) for t in taken)])


class NetworkStore:
    def __init__(self, root: StateRoot):
        self.root = root
        self.dir = os.path.join(root.lib, "networks")

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def ipam(self, net: Network) -> HostLocalIPAM:
        return HostLocalIPAM(os.path.join(self._path(net.name), "leases"), net.subnet, net.gateway, net.ip_range)

    def load(self, name: str) -> Network | None:
        """The network's record as saved, None if there is none (no default made, no policy checked)."""
        try:
            with open(os.path.join(self._path(name), "network.json")) as f:
                return Network(**json.load(f))
        except (FileNotFoundError, NotADirectoryError):  # no such network (or a lock file beside them)
            return None

    def get(self, name: str) -> Network:
        """The network a container is about to use: the default one is made on first use, and a
        --userland-proxy flag that disagrees with the network's mode is refused."""
        from minicontainer.network.backends import requested_backend
        net = self.load(name)
        if net is not None:
            wanted = requested_userland_proxy()
            if wanted is not None and wanted != net.userland_proxy:
                raise DaemonError(f"network {name} was set up with --userland-proxy={str(net.userland_proxy).lower()}: "
                                  f"remove it (network rm {name}) to switch modes", 125)
            backend = requested_backend()
            if backend is not None and backend != net.firewall_backend:
                raise DaemonError(f"network {name} has its rules in the {net.firewall_backend} iptables backend: "
                                  f"remove it (network rm {name}) to switch to {backend}", 125)
            return net
        if name == DEFAULT_NETWORK:
            return self._create_default()
        raise DaemonError(f"network {name} not found", 125)

    def record(self, name: str) -> Network:
        """The network's record for a command that only looks at it or removes it: no policy is
        checked (a removal must work whatever flags ask for), the default one made on first use."""
        net = self.load(name)
        if net is not None:
            return net
        if name == DEFAULT_NETWORK:
            return self._create_default()
        raise DaemonError(f"network {name} not found", 125)

    def predefined(self, name: str) -> Network:
        """The host or none network: no record, no kernel object, an id stable for this state root."""
        nid = _sha256(f"{self.dir}\0{name}".encode())
        return Network(name=name, id=nid, bridge="", subnet="", gateway="", driver=PREDEFINED_DRIVERS[name])

    def every(self) -> list[Network]:
        """Every network, the predefined ones included (the default one's record made if need be),
        sorted by name as `docker network ls` sorts them."""
        nets = {n.name: n for n in self.list()}
        nets.setdefault(DEFAULT_NETWORK, self.record(DEFAULT_NETWORK))
        for name in ("host", "none"):
            nets[name] = self.predefined(name)
        return sorted(nets.values(), key=lambda n: n.name)

    def find(self, ref: str, look_only: bool = False, for_use: bool = True) -> Network:
        """A network by full id, name or unique id prefix (Docker's order), the predefined ones
        included; "network X not found". Only a default network in use is found by its id.
        look_only: the default network's record is not made (--dry-run); for_use: a container is
        about to use it (the host-wide settings asked for must agree with its own: get())."""
        get = self.peek if look_only else (self.get if for_use else self.record)
        known = self.list() + [self.predefined("host"), self.predefined("none")]
        for match in (lambda n: n.id == ref, lambda n: n.name == ref, lambda n: bool(ref) and n.id.startswith(ref)):
            found = [n for n in known if match(n)]
            if len(found) == 1:
                return get(found[0].name) if found[0].driver == "bridge" else found[0]
            if len(found) > 1:
                raise DaemonError(f"network {ref} is ambiguous ({len(found)} matches found based on ID prefix)", 1)
        if ref == DEFAULT_NETWORK:
            return get(ref)
        raise DaemonError(f"network {ref} not found", 1)

    def list(self) -> list[Network]:
        if not os.path.isdir(self.dir):
            return []
        return [n for n in map(self.load, sorted(os.listdir(self.dir))) if n is not None]

    def reclaim_leases(self, alive: AbstractSet[tuple[int, int]] = frozenset()) -> None:
        """Free the leases of dead holders; `alive`: (pid, start ticks) the caller has just seen alive."""
        for net in self.list():
            self.ipam(net).reclaim_dead(alive)

    def create(self, name: str, wanted=None) -> Network:
        """`network create`: a user-defined bridge `br-<12 hex of its id>` (or the name -o gave),
        as Docker names them. wanted: a specs.netcreate.CreateOptions."""
        from minicontainer.clock import now_rfc3339
        from minicontainer.kernel.netlink import link_exists
        from minicontainer.specs.netcreate import CreateOptions
        wanted = wanted or CreateOptions()
        if name in ("", ".", "..") or "/" in name or "\0" in name:  # Docker takes any name; ours are directories
            raise DaemonError(f"invalid network name: {name!r} (minicontainer keeps a network in a directory "
                              "of that name: no '/', not '.' or '..')", 1)
        os.makedirs(self.dir, exist_ok=True)
        with locked(os.path.join(self.dir, "create.lock")):
            if self.load(name) is not None or name in PREDEFINED_DRIVERS:
                raise DaemonError(f"network with name {name} already exists", 1)
            net = self._subnet(wanted.subnet)
            clash = [s for s in self._subnets() if s.overlaps(net)]
            if clash:
                raise DaemonError("invalid pool request: Pool overlaps with other one on this address space", 1)
            nid = _sha256(os.urandom(32))
            bridge = wanted.bridge_name or f"br-{nid[:12]}"
            if wanted.bridge_name and (link_exists(bridge) or any(n.bridge == bridge for n in self.list())):
                raise DaemonError(f"an interface named {bridge} exists already: minicontainer only makes bridges of "
                                  "its own", 1)
            prefix = self._chain_prefix()
            network = Network(name=name, id=nid, bridge=bridge, subnet=str(net),
                              gateway=wanted.gateway or str(next(net.hosts())), chain_prefix=prefix,
                              userland_proxy=self._proxy_mode(prefix), firewall_backend=self._backend(prefix),
                              internal=wanted.internal, icc=wanted.icc,
                              masquerade=wanted.masquerade, mtu=wanted.mtu, host_binding_ipv4=wanted.host_binding_ipv4,
                              ip_range=wanted.ip_range, labels=dict(wanted.labels), options=dict(wanted.options),
                              created=now_rfc3339())
            self._save(network)
            return network

    def _proxy_mode(self, chain_prefix: str) -> bool:
        """The mode of a new network: as asked, else as the networks sharing its chains, else on."""
        wanted = requested_userland_proxy()
        others = self._shared(chain_prefix, "userland_proxy")
        if wanted is not None and others and others != {wanted}:
            raise DaemonError(f"other networks use --userland-proxy={str(not wanted).lower()} with the same "
                              f"chains ({chain_prefix}); remove them first to switch modes", 125)
        if wanted is not None:
            return wanted
        return others.pop() if others else True

    def _backend(self, chain_prefix: str) -> str:
        """The firewall backend of a new network: as asked, else as the networks sharing its chains
        (their rules, and the NAT that must stay in one backend, are there), else the host's."""
        from minicontainer.network.backends import host_backend, requested_backend
        wanted = requested_backend()
        others = self._shared(chain_prefix, "firewall_backend")
        if wanted is not None and others and others != {wanted}:
            users = ", ".join(n.name for n in self.list() if n.chain_prefix == chain_prefix)
            raise DaemonError(f"networks {users} have their rules in the {others.pop()} iptables backend with the "
                              f"same chains ({chain_prefix}); remove them first to switch to {wanted}", 125)
        if wanted is not None:
            return wanted
        return others.pop() if others else host_backend()

    def _shared(self, chain_prefix: str, setting: str) -> set:
        """The values of a host-wide setting among the networks behind the same chains."""
        return {getattr(n, setting) for n in self.list() if n.chain_prefix == chain_prefix}

    def _subnet(self, asked: str):
        """The subnet asked for, else the first free one of Docker's pools."""
        try:
            return ipaddress.ip_network(asked) if asked else pick_subnet(host_networks() + self._subnets())
        except ValueError as exc:
            raise DaemonError(f"invalid subnet {asked}: {exc}", 1) from None

    def _subnets(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.ip_network(n.subnet) for n in self.list()]

    def _create_default(self) -> Network:
        os.makedirs(self.dir, exist_ok=True)
        with locked(os.path.join(self.dir, "create.lock")):
            existing = self.load(DEFAULT_NETWORK)
            if existing is not None:
                return existing
            network = self._default()
            self._save(network)
            return network

    def _chain_prefix(self) -> str:
        """Our chains' prefix: as the environment says, else the default network's (a state root
        configured through the Python API), else MC."""
        saved = self.load(DEFAULT_NETWORK)
        return os.environ.get("MINICONTAINER_CHAIN_PREFIX") or (saved.chain_prefix if saved else "MC")

    def _default(self, bridge: str = "", subnet: str = "", chain_prefix: str = "") -> Network:
        net = self._subnet(subnet or os.environ.get("MINICONTAINER_SUBNET", ""))
        prefix = chain_prefix or os.environ.get("MINICONTAINER_CHAIN_PREFIX", "MC")
        return Network(name=DEFAULT_NETWORK, id=_sha256(os.urandom(32)),
                       bridge=bridge or os.environ.get("MINICONTAINER_BRIDGE", "mc0"), subnet=str(net),
                       gateway=str(next(net.hosts())), chain_prefix=prefix, userland_proxy=self._proxy_mode(prefix),
                       firewall_backend=self._backend(prefix))

    def configure_default(self, bridge: str = "", subnet: str = "", chain_prefix: str = "") -> Network:
        """Record the default network's bridge name, subnet and chain prefix before its first use
        (what the MINICONTAINER_BRIDGE/_SUBNET/_CHAIN_PREFIX variables do for the CLI). A root
        whose default network exists keeps it: asking for other settings is an error."""
        os.makedirs(self.dir, exist_ok=True)
        with locked(os.path.join(self.dir, "create.lock")):
            existing = self.load(DEFAULT_NETWORK)
            if existing is None:
                existing = self._default(bridge, subnet, chain_prefix)
                self._save(existing)
                return existing
        differs = [f"{key} {have}" for key, want, have in (("bridge", bridge, existing.bridge),
                                                           ("subnet", subnet, existing.subnet),
                                                           ("chain prefix", chain_prefix, existing.chain_prefix))
                   if want and str(want) != have]
        if differs:
            raise DaemonError(f"the default network of this state root already has {', '.join(differs)}", 1)
        return existing

    def peek(self, name: str) -> Network:
        """get() without creating the default network's record (for --dry-run)."""
        if name == DEFAULT_NETWORK and self.load(name) is None:
            return self._default()
        return self.get(name)

    def kernel(self, net: Network):
        """The kernel side of net: its first-use steps, its rules, its removal (network/bridge.py)."""
        from minicontainer.network.bridge import BridgeNetwork
        return BridgeNetwork(net, self.up_lock(net))

    def _save(self, net: Network) -> None:
        os.makedirs(self._path(net.name), exist_ok=True)
        write_atomic(os.path.join(self._path(net.name), "network.json"), json.dumps(asdict(net), indent=1))

    def up_lock(self, net: Network) -> str:
        """Held while the network's bridge and rules are being created (or repaired)."""
        return os.path.join(self._path(net.name), "up.lock")

    def remove(self, net: Network, users: list[str]) -> list[dict]:
        """`network rm`: its kernel side undone (refused while containers use it), then its record
        and leases; returns what was undone as trace-like lines (why, sh) for `network rm --explain`."""
        done = self.kernel(net).take_down(users)
        import shutil
        shutil.rmtree(self._path(net.name), ignore_errors=True)
        return done


def _sha256(data: bytes) -> str:
    """A network id (hashlib, imported when a network is made: not by every command)."""
    import hashlib
    return hashlib.sha256(data).hexdigest()
