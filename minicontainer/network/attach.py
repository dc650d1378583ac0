"""Connecting a container to bridge networks and disconnecting it (CNI's ADD and DEL), one
endpoint per network, and which of them gives the default route.

reserve leases the address and names the endpoint before its veth exists; attach_steps() are
applied on the host (by the supervisor between fork and "go" at a start, by `network connect` for a
running container). Everything they do on the host is journaled, so detach() (or the reaper, if the
supervisor died) can undo exactly that, in reverse, for one endpoint or for all of them.

The default route (libnetwork's Endpoint.Less, Docker 28): endpoints sort by gw-priority (highest
first), then networks that are not internal, then those with a gateway, then by network name; the
first one with a gateway gives the default route, and the published ports are programmed on it.
"""

from __future__ import annotations

import os

from minicontainer.kernel.netlink import BindNetns, ConfigureInterface, CreateVeth, DefaultRoute, Hairpin
from minicontainer.network.ipam import mac_for
from minicontainer.network.networks import Network, NetworkStore
from minicontainer.plan import Step
from minicontainer.specs.network import NetworkAttachment
from minicontainer.store.journal import Journal
from minicontainer.store.records import Endpoint, sandbox_order


def endpoint(net: Network, ip: str, cid: str, asked: NetworkAttachment | None = None, ifname: str = "eth0",
             host_if: str = "") -> Endpoint:
    """The container's endpoint on net: what inspect shows under NetworkSettings, kept in the record."""
    asked = asked or NetworkAttachment(net.name)
    return Endpoint(network=net.name, network_id=net.id, bridge=net.bridge, ip=ip, prefixlen=net.prefixlen,
                    gateway="" if net.internal else net.gateway, mac=asked.mac or mac_for(ip),
                    sandbox_key=f"/run/netns/{cid[:12]}", endpoint_id=os.urandom(32).hex(),
                    hairpin=not net.userland_proxy, host_if=host_if or "veth" + os.urandom(4).hex()[:7],
                    ifname=ifname, aliases=asked.aliases, gw_priority=asked.gw_priority, static_ip=bool(asked.ip))


def next_ifname(endpoints: list[Endpoint]) -> str:
    """The lowest ethN not in use (libnetwork's generateIfaceName)."""
    used = {ep.ifname for ep in endpoints}
    return next(f"eth{n}" for n in range(len(used) + 1) if f"eth{n}" not in used)


def gateway_endpoint(endpoints: list[Endpoint]) -> Endpoint | None:
    """The endpoint that gives the default route and carries the published ports (module docstring)."""
    return next((ep for ep in sandbox_order(endpoints) if ep.gateway), None)


def attach_steps(ep: Endpoint, pid: int, mtu: int = 0) -> list[Step]:
    """One endpoint's veth, on the host, and its address inside the container."""
    # the container's end gets its MAC at creation: 02:42 + its IPv4, like Docker <= 27, or --mac-address
    steps: list[Step] = [CreateVeth(ep.host_if, ep.bridge, pid, peer_if=ep.ifname, peer_mac=ep.mac, mtu=mtu)]
    if ep.hairpin:
        steps.append(Hairpin(ep.host_if))
    steps.append(ConfigureInterface(pid, ep.ifname, f"{ep.ip}/{ep.prefixlen}"))
    return steps


def sandbox_steps(pid: int, cid: str) -> list[Step]:
    """What a container with endpoints gets once: its namespace named for `ip netns`."""
    return [BindNetns(pid, cid[:12])]


def route_steps(pid: int, endpoints: list[Endpoint]) -> list[Step]:
    """The default route via the gateway endpoint (none when no endpoint has a gateway)."""
    gw = gateway_endpoint(endpoints)
    return [DefaultRoute(pid, gw.gateway, gw.ifname)] if gw else []


def veth_of(ep: Endpoint):
    """Selects the journaled steps of one endpoint (for Journal.undo(only=...))."""
    return lambda step: isinstance(step, CreateVeth) and step.host_if == ep.host_if


def release_lines(networks: NetworkStore, endpoints: list[Endpoint]) -> list[dict]:
    """What freeing the endpoints' leases amounts to, as explain lines (why, sh)."""
    import shlex
    out = []
    for ep in endpoints:
        net = networks.load(ep.network)
        if net is not None:
            lease = shlex.quote(os.path.join(networks.ipam(net).dir, ep.ip))
            out.append({"why": f"free its address {ep.ip} (a host-local IPAM lease file)", "sh": f"rm -f {lease}"})
    return out


def release_leases(networks: NetworkStore, endpoints: list[Endpoint], cid: str) -> None:
    for ep in endpoints:
        net = networks.load(ep.network)
        if net is not None:
            networks.ipam(net).release(ep.ip, cid)


def detach(networks: NetworkStore, journal: Journal, endpoints: list[Endpoint], cid: str) -> list[str]:
    """Undo the journal, then free the leases. Reads the networks' records as they are: teardown
    enforces no creation-time policy (a --userland-proxy flag on this command must not stop it)."""
    import minicontainer.network.journaled  # noqa: F401 - every journaled Step class, for old journals
    errors = journal.undo()
    release_leases(networks, endpoints, cid)
    return errors
