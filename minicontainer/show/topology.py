"""The network topology as data: host interfaces, each bridge network with its veths and containers,
published ports with their DNAT target and proxy, host- and none-mode containers. The state records
say what should be there; every link is looked up in the kernel too, so a missing one shows."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from minicontainer.store.records import PublishedPort


@dataclass
class Endpoint:
    """A container's endpoint as the topology shows it (its veth looked up in the kernel)."""

    container: str
    short_id: str
    ip: str
    prefixlen: int
    mac: str
    host_veth: str
    veth_in_kernel: bool
    netns: str
    ports: list[PublishedPort] = field(default_factory=list)  # those published on this endpoint
    ifname: str = "eth0"      # its end inside the container (eth1... on a second network)
    resolver: str = ""        # its embedded DNS server (a user-defined network's container), described


@dataclass
class BridgeNet:
    """A bridge network as the topology shows it."""

    name: str
    bridge: str
    subnet: str
    gateway: str
    in_kernel: bool
    userland_proxy: bool
    endpoints: list[Endpoint] = field(default_factory=list)


@dataclass
class HostIface:
    """A host interface as the topology shows it."""

    name: str
    addresses: list[str]
    up: bool


@dataclass
class Topology:
    """Everything `network show` draws."""

    host: list[HostIface]
    networks: list[BridgeNet]
    host_mode: list[str]                 # containers sharing the host's network stack
    isolated: list[str]                  # --net none: only their own lo
    joined: list[tuple[str, str]]        # (container, container whose stack it shares)


def _host_interfaces(skip: set[str]) -> list[HostIface]:
    from minicontainer.kernel.netlink import iproute
    out = []
    with iproute() as ipr:
        addrs: dict[int, list[str]] = {}
        for a in ipr.get_addr(family=2):
            addrs.setdefault(a["index"], []).append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
        for link in ipr.get_links():
            name = link.get_attr("IFLA_IFNAME")
            master = link.get_attr("IFLA_MASTER")
            if name in skip or master:  # bridges and their ports are drawn with their network
                continue
            out.append(HostIface(name, addrs.get(link["index"], []), bool(link["flags"] & 1)))
    return out


def _resolver(rt, rec) -> str:
    """Where a container's embedded DNS server listens and who holds it ("" if it has none)."""
    import minicontainer.network.journaled  # noqa: F401 - the journal's Step classes
    from minicontainer.network.embedded_dns import dns_server_of
    step = dns_server_of(rt.containers.journal(rec.id))
    if step is None:
        return ""
    holder = (rec.supervisor or {}).get("pid", "?")
    return f"embedded DNS 127.0.0.11:53 (udp/{step.udp_port}, tcp/{step.tcp_port} in its netns), held by supervisor pid {holder}"


def gather(rt, only: str | None = None) -> Topology:
    from minicontainer.network.networks import NetworkStore
    from minicontainer.specs.network import is_user_defined
    networks = NetworkStore(rt.root)
    nets = [n for n in networks.list() if only is None or n.name == only]
    running = rt.list()
    resolvers = {rec.id: _resolver(rt, rec) for rec in running}
    topo = Topology(host=[], networks=[], host_mode=[], isolated=[], joined=[])
    for net in nets:
        bn = BridgeNet(net.name, net.bridge, net.subnet, net.gateway, os.path.exists(f"/sys/class/net/{net.bridge}"),
                       net.userland_proxy)
        for rec in running:
            ep = rec.endpoint_on(net.name)
            if ep is None:
                continue
            veth = ep.host_if
            on_bridge = os.path.realpath(f"/sys/class/net/{veth}/master").endswith("/" + net.bridge) if veth else False
            bn.endpoints.append(Endpoint(rec.name, rec.short_id, ep.ip, ep.prefixlen, ep.mac, veth, on_bridge,
                                         ep.sandbox_key, [p for p in rec.ports if p.container_ip == ep.ip], ep.ifname,
                                         resolvers[rec.id] if is_user_defined(net.name) else ""))
        topo.networks.append(bn)
    if only is None:
        from minicontainer.network.modes import ContainerMode, HostMode, NoneMode, kind_of
        for rec in running:
            kind = kind_of(rec.network_mode)
            if kind is HostMode:
                topo.host_mode.append(rec.name)
            elif kind is NoneMode:
                topo.isolated.append(rec.name)
            elif kind is ContainerMode:
                target = rec.network_mode.partition(":")[2]
                topo.joined.append((rec.name, next((r.name for r in running if r.id == target), target[:12])))
    skip = {n.bridge for n in nets}
    topo.host = _host_interfaces(skip)
    return topo
