"""Network modes as drivers (netavark's NetworkDriver): what a `--network` value means for a container.

Every question the rest of the code used to answer with a string test is a method here:

    namespaces        which namespaces the container's process unshares (pid is the supervisor's)
    validate(spec)    refusals before anything is created (conflicting flags, unknown network)
    join_refusal(n)   why a container in this mode cannot be connected to network n (None: it can)
    attachments(spec) the bridge networks it records (specs.network.NetworkAttachment), in order
    recorded()        the NetworkMode to record (container:NAME becomes container:ID)
    joins()           namespaces it enters instead of making them: {"net": pid of the target}
    publishes         whether -p applies (host mode discards it, as Docker warns)
    reserve(...)      what it takes before the container exists: address leases, endpoints
    first_use_steps   host steps to bring its networks up the first time (bring_up applies them)
    host_steps(...)   host steps once the child's namespaces exist: veth, /run/netns, ports
    release(...)      undo the host steps (the journal) and free what reserve took

Adding a mode (say `ns:PATH`) means adding one class and one line in kind_of().
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

from minicontainer.errors import DaemonError, NoSuchContainer, StartError
from minicontainer.kernel import proc
from minicontainer.plan import Step
from minicontainer.specs.network import NetworkAttachment
from minicontainer.store.records import Endpoint

TYPE_CHECKING = False  # typing costs ms to import on every command; mypy takes any TYPE_CHECKING as true
if TYPE_CHECKING:
    from minicontainer.store.journal import Journal

PRIVATE = ["mnt", "uts", "ipc", "net"]
SHARED_NET = ["mnt", "uts", "ipc"]
SHARING = "container sharing network namespace with another container or host cannot be connected to any other network"
PRIVATE_NONE = "container cannot be connected to multiple networks with one of the networks in private (none) mode"
TO_HOST = "cannot connect container to host network - container must be created in host network mode"


class NetworkMode:
    """--network none: a network namespace of its own with only `lo`. The base of every mode."""

    namespaces = PRIVATE
    publishes = False
    publish_warning = ""     # what `run -p` prints when this mode discards the ports
    host_files = False       # /etc/hosts and resolv.conf: the host's (host mode) or written for it

    def __init__(self, value: str):
        self.value = value

    join_refusal_text = PRIVATE_NONE

    def validate(self, spec) -> None:
        """Refuse a spec this mode cannot run, before anything exists: here, networks it cannot join."""
        for att in spec.networks[1:]:
            refusal = self.join_refusal(att.network)
            if refusal:
                raise DaemonError(refusal, 125)

    def join_refusal(self, network: str) -> str | None:
        """Docker's refusal to connect a container in this mode to `network` (None: allowed)."""
        return self.join_refusal_text

    def attachments(self, spec) -> list[NetworkAttachment]:
        return []

    def recorded(self) -> str:
        return self.value

    def default_hostname(self, cid: str) -> str:
        return cid[:12]

    def etc_owner(self, cid: str) -> str:
        """The container whose /etc/hostname, hosts and resolv.conf this one sees: its own."""
        return cid

    def joins(self) -> dict[str, int]:
        return {}

    def reserve(self, rec, lease: Callable) -> list[Endpoint]:
        return []

    def first_use_steps(self, rec) -> list[Step]:
        return []

    def bring_up(self, steps: list[Step]) -> None:
        """Apply first_use_steps() (none for this mode)."""

    def host_steps(self, rec, endpoints: list[Endpoint], pid: int) -> list[Step]:
        return []

    def release(self, journal: Journal, endpoints: list[Endpoint], cid: str) -> list[str]:
        return journal.undo() if journal.exists() else []


class NoneMode(NetworkMode):
    """--network none: everything as the base class says."""


class HostMode(NetworkMode):
    """--network host: the host's network namespace, its hostname and its /etc/hosts."""

    namespaces = SHARED_NET
    host_files = True
    join_refusal_text = SHARING
    publish_warning = "WARNING: Published ports are discarded when using host network mode"

    def default_hostname(self, cid: str) -> str:
        return socket.gethostname()

    def validate(self, spec) -> None:
        super().validate(spec)
        if spec.dns.links:
            raise DaemonError("conflicting options: host type networking can't be used with links. "
                              "This would result in undefined behavior", 125)


class ContainerMode(NetworkMode):
    """--network container:NAME: the network namespace of another running container."""

    namespaces = SHARED_NET
    join_refusal_text = SHARING

    def __init__(self, value: str, containers=None):
        super().__init__(value)
        self.target = value.partition(":")[2]
        self.containers = containers

    def validate(self, spec) -> None:
        super().validate(spec)
        if spec.publish or spec.publish_all:
            raise DaemonError("conflicting options: port publishing and the container type network mode", 125)
        if spec.hostname:  # Docker refuses it: the network identity belongs to the joined container
            raise DaemonError("conflicting options: hostname and the network mode", 125)
        if spec.name and self.target == spec.name:
            raise DaemonError("cannot join own network namespace", 125)
        if spec.dns.servers:  # and so do its /etc files (runconfig's ErrConflictNetworkAndDNS, ...Hosts)
            raise DaemonError("conflicting options: dns and the network mode", 125)
        if spec.dns.extra_hosts:
            raise DaemonError("conflicting options: custom host-to-IP mapping and the network mode", 125)
        if spec.dns.links:
            raise DaemonError("conflicting options: container type network can't be used with links. "
                              "This would result in undefined behavior", 125)

    def recorded(self) -> str:
        try:
            return "container:" + self.containers.resolve(self.target)
        except NoSuchContainer:
            raise DaemonError(f"No such container: {self.target}", 125) from None

    def default_hostname(self, cid: str) -> str:
        """The joined container's: its network identity is the joiner's too (Docker's initializeNetworking)."""
        return self.containers.load(self.containers.resolve(self.target)).config["Hostname"]

    def etc_owner(self, cid: str) -> str:
        """The joined container's files, bind-mounted as they are (a line it gains, the joiner sees)."""
        return self.containers.resolve(self.target)

    def joins(self) -> dict[str, int]:
        try:
            target = self.containers.load(self.containers.resolve(self.target))
        except NoSuchContainer:
            raise StartError(f"cannot join network of a non running container: {self.target}", 125) from None
        if not target.running or not proc.is_alive(target.pid, target.init_start):
            raise StartError(f"cannot join network of a non running container: {target.id}", 125)
        return {"net": target.pid}


class BridgeMode(NetworkMode):
    """--network bridge (the default) or user-defined networks, one or several: a veth pair on each
    network's bridge, an address from its subnet, the default route via the one that sorts first
    (network/attach.py), published ports through DNAT and a userland proxy on that one."""

    publishes = True

    def __init__(self, value: str, networks=None, look_only: bool = False):
        super().__init__(value)
        self.networks = networks
        self.look_only = look_only  # --dry-run: the default network's record is not made
        self._first_use: list[tuple] = []  # (network, its up steps), as first_use_steps() found them

    def network(self, name: str):
        """A network's record (the default one is made on first use, unless only looking)."""
        return self.networks.peek(name) if self.look_only else self.networks.get(name)

    @property
    def net(self):
        """The first network's record."""
        return self.network(self.value)

    def join_refusal(self, network: str) -> str | None:
        kind = kind_of(network)
        return None if kind is BridgeMode else {HostMode: TO_HOST, NoneMode: PRIVATE_NONE}.get(kind, SHARING)

    def _named(self, ref: str) -> str:
        """A network's name from its name, id or id prefix (run reports it with 125)."""
        if ref == "bridge":
            return ref
        try:
            return self.networks.find(ref).name
        except DaemonError as exc:
            raise DaemonError(exc.args[0], 125) from None

    def recorded(self) -> str:
        return self._named(self.value)

    def attachments(self, spec) -> list[NetworkAttachment]:
        import dataclasses
        asked = list(spec.networks) or [NetworkAttachment(self.value)]
        return [dataclasses.replace(a, network=self._named(a.network)) for a in asked]

    def validate(self, spec) -> None:
        super().validate(spec)
        for att in self.attachments(spec):
            check_attachment(att, self.networks.load(att.network))

    def reserve(self, rec, lease: Callable) -> list[Endpoint]:
        from minicontainer.network.attach import endpoint
        out: list[Endpoint] = []
        for n, att in enumerate(rec.networks):
            net = self.network(att.network)
            out.append(endpoint(net, lease(net, rec.id, att.ip), rec.id, att, ifname=f"eth{n}"))
        return out

    def first_use_steps(self, rec) -> list[Step]:
        """The first-use steps of each of its networks whose bridge does not exist yet, in order."""
        self._first_use = [(self.network(a.network), self.up_steps_of(a.network)) for a in rec.networks]
        return [step for _, steps in self._first_use for step in steps]

    def up_steps_of(self, name: str) -> list[Step]:
        """One network's first-use steps (none once its bridge exists)."""
        from minicontainer.kernel.netlink import link_exists
        net = self.network(name)
        return [] if link_exists(net.bridge) else self.networks.kernel(net).up_steps()

    def bring_up(self, steps: list[Step]) -> None:
        """Apply the steps first_use_steps() returned, each network's under its own lock (network/bridge.py)."""
        for net, own in self._first_use:
            self.networks.kernel(net).bring_up(own)

    def host_steps(self, rec, endpoints: list[Endpoint], pid: int) -> list[Step]:
        from minicontainer.network.attach import attach_steps, route_steps, sandbox_steps
        steps: list[Step] = []
        for ep in endpoints:
            steps += attach_steps(ep, pid, self.network(ep.network).mtu)
        if endpoints:
            steps += sandbox_steps(pid, rec.id) + route_steps(pid, endpoints)
        steps += self.dns_steps(rec, pid)
        steps += self.port_steps(rec, endpoints)
        return steps

    def dns_steps(self, rec, pid: int) -> list[Step]:
        """The embedded DNS server, for a container on a user-defined network (Docker starts one
        for such a sandbox only): its upstreams are what its resolv.conf swapped out."""
        from minicontainer.specs.network import is_user_defined
        if not any(is_user_defined(a.network) for a in rec.networks):
            return []
        from minicontainer.network import resolvconf
        from minicontainer.network.embedded_dns import EmbeddedDNS
        conf = resolvconf.for_container("internal", rec.host_config)
        nets = [self.network(a.network) for a in rec.networks if is_user_defined(a.network)]
        way_out = any(not self.network(a.network).internal for a in rec.networks)
        return [EmbeddedDNS(pid, rec.id, self.networks.root.lib, conf.upstreams, proxy=way_out,
                            dotless_local=conf.ndots_set, backend=nets[0].firewall_backend)]

    def port_steps(self, rec, endpoints: list[Endpoint], bound: list | None = None) -> list[Step]:
        """The published ports, on the gateway endpoint (`bound`: the ports as they were bound
        before, so that moving them keeps their host ports)."""
        from minicontainer.network.attach import gateway_endpoint
        from minicontainer.network.ports import publish_steps
        gw = gateway_endpoint(endpoints)
        if not rec.port_bindings or gw is None:
            return []
        owner = os.path.join(self.networks.root.containers, rec.id)
        rules, holders = publish_steps(self.network(gw.network), gw, rec.port_bindings, owner, bound)
        return rules + holders

    def release(self, journal: Journal, endpoints: list[Endpoint], cid: str) -> list[str]:
        from minicontainer.network.attach import detach
        return detach(self.networks, journal, endpoints, cid)


def check_attachment(att: NetworkAttachment, net) -> None:
    """Docker's endpoint-settings checks against the network (validateEndpointSettings)."""
    import ipaddress

    from minicontainer.specs.network import is_user_defined
    problem = ""
    if att.ip and not is_user_defined(att.network):
        problem = "user-specified IP address is supported on user-defined networks only"
    elif att.ip and net is not None and ipaddress.ip_address(att.ip) not in ipaddress.ip_network(net.subnet):
        problem = f"no configured subnet contains IP address {att.ip}"
    if problem:
        # Docker breaks the line after "settings:"; one line here, as every error of ours
        raise DaemonError(f"invalid config for network {att.network}: invalid endpoint settings: {problem}", 125)


def kind_of(value: str) -> type[NetworkMode]:
    """The class for a --network value (pure: no record is read)."""
    if value == "none":
        return NoneMode
    if value == "host":
        return HostMode
    if value.startswith("container:"):
        return ContainerMode
    return BridgeMode


def namespace_kinds(value: str) -> list[str]:
    return list(kind_of(value).namespaces)


def mode_for(value: str, networks, containers, look_only: bool = False) -> NetworkMode:
    """The driver for a container's --network value (its NetworkMode); look_only for a dry run."""
    cls = kind_of(value)
    if cls is ContainerMode:
        return ContainerMode(value, containers)
    if cls is BridgeMode:
        return BridgeMode(value, networks, look_only)
    return cls(value)
