"""Network modes as drivers (netavark's NetworkDriver): what a `--network` value means for a container.

Every question the rest of the code used to answer with a string test is a method here:

    namespaces        which namespaces the container's process unshares (pid is the supervisor's)
    validate(spec)    refusals before anything is created (conflicting flags, unknown network)
    recorded()        the NetworkMode to record (container:NAME becomes container:ID)
    joins()           namespaces it enters instead of making them: {"net": pid of the target}
    publishes         whether -p applies (host mode discards it, as Docker warns)
    reserve(...)      what it takes before the container exists: address leases, endpoints
    first_use_steps   host steps to bring its network up the first time (bring_up applies them)
    host_steps(...)   host steps once the child's namespaces exist: veth, /run/netns, ports
    release(...)      undo the host steps (the journal) and free what reserve took

Adding a mode (say `ns:PATH`) means adding one class and one line in kind_of().
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from minicontainer.errors import DaemonError, NoSuchContainer, StartError
from minicontainer.kernel import proc
from minicontainer.plan import Step
from minicontainer.store.records import Endpoint

if TYPE_CHECKING:
    from minicontainer.store.journal import Journal

PRIVATE = ["mnt", "uts", "ipc", "net"]
SHARED_NET = ["mnt", "uts", "ipc"]


class NetworkMode:
    """--network none: a network namespace of its own with only `lo`. The base of every mode."""

    namespaces = PRIVATE
    publishes = False
    publish_warning = ""     # what `run -p` prints when this mode discards the ports
    host_files = False       # /etc/hosts and resolv.conf: the host's (host mode) or written for it

    def __init__(self, value: str):
        self.value = value

    def validate(self, spec) -> None:
        """Refuse a spec this mode cannot run, before anything exists."""

    def recorded(self) -> str:
        return self.value

    def default_hostname(self, cid: str) -> str:
        return cid[:12]

    def joins(self) -> dict[str, int]:
        return {}

    def reserve(self, rec, lease: Callable) -> list[Endpoint]:
        return []

    def first_use_steps(self) -> list[Step]:
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
    publish_warning = "WARNING: Published ports are discarded when using host network mode"

    def default_hostname(self, cid: str) -> str:
        return socket.gethostname()


class ContainerMode(NetworkMode):
    """--network container:NAME: the network namespace of another running container."""

    namespaces = SHARED_NET

    def __init__(self, value: str, containers=None):
        super().__init__(value)
        self.target = value.partition(":")[2]
        self.containers = containers

    def validate(self, spec) -> None:
        if spec.publish or spec.publish_all:
            raise DaemonError("conflicting options: port publishing and the container type network mode", 125)
        if spec.hostname:  # Docker refuses it: the network identity belongs to the joined container
            raise DaemonError("conflicting options: hostname and the network mode", 125)

    def recorded(self) -> str:
        try:
            return "container:" + self.containers.resolve(self.target)
        except NoSuchContainer:
            raise DaemonError(f"No such container: {self.target}", 125) from None

    def joins(self) -> dict[str, int]:
        try:
            target = self.containers.load(self.containers.resolve(self.target))
        except NoSuchContainer:
            raise StartError(f"cannot join network of a non running container: {self.target}", 125) from None
        if not target.running or not proc.is_alive(target.pid, target.init_start):
            raise StartError(f"cannot join network of a non running container: {target.id}", 125)
        return {"net": target.pid}


class BridgeMode(NetworkMode):
    """--network bridge (the default) or a user-defined network: a veth pair on its bridge, an
    address from its subnet, published ports through DNAT and a userland proxy."""

    publishes = True

    def __init__(self, value: str, networks=None, look_only: bool = False):
        super().__init__(value)
        self.networks = networks
        self.look_only = look_only  # --dry-run: the default network's record is not made
        self._net = None

    @property
    def net(self):
        """The network record (the default one is made on first use, unless only looking)."""
        if self._net is None:
            self._net = self.networks.peek(self.value) if self.look_only else self.networks.get(self.value)
        return self._net

    def validate(self, spec) -> None:
        if self.value != "bridge":
            self.networks.get(self.value)  # "network NAME not found" before anything is created

    def reserve(self, rec, lease: Callable) -> list[Endpoint]:
        from minicontainer.network.attach import endpoint
        return [endpoint(self.net, lease(self.net, rec.id), rec.id)]

    def first_use_steps(self) -> list[Step]:
        from minicontainer.kernel.netlink import link_exists
        return [] if link_exists(self.net.bridge) else self.networks.kernel(self.net).up_steps()

    def bring_up(self, steps: list[Step]) -> None:
        self.networks.kernel(self.net).bring_up(steps)

    def host_steps(self, rec, endpoints: list[Endpoint], pid: int) -> list[Step]:
        from minicontainer.network.attach import attach_steps
        from minicontainer.network.ports import publish_steps
        steps: list[Step] = []
        for ep in endpoints:
            steps += attach_steps(ep, pid, rec.id)
        if rec.port_bindings and endpoints:
            rules, holders = publish_steps(self.net, endpoints[0], rec.port_bindings)
            steps += rules + holders
        return steps

    def release(self, journal: Journal, endpoints: list[Endpoint], cid: str) -> list[str]:
        from minicontainer.network.attach import detach
        return detach(self.networks, journal, endpoints, cid)


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
