"""Connecting a container to a bridge network and disconnecting it (CNI's ADD and DEL).

reserve() leases the address and names the endpoint before the container exists; attach_steps() are
applied in the supervisor between fork and "go": the child already has its network namespace but
has not started the command yet. Everything they do on the host is journaled, so detach() (or the
reaper, if the supervisor died) can undo exactly that, in reverse.
"""

from __future__ import annotations

import os

from minicontainer.kernel.netlink import BindNetns, ConfigureInterface, CreateVeth, Hairpin
from minicontainer.network.ipam import mac_for
from minicontainer.network.networks import Network, NetworkStore
from minicontainer.plan import Step
from minicontainer.store.journal import Journal
from minicontainer.store.records import Endpoint


def endpoint(net: Network, ip: str, cid: str, host_if: str = "") -> Endpoint:
    """The container's endpoint on net: what inspect shows under NetworkSettings, kept in the record."""
    return Endpoint(network=net.name, network_id=net.id, bridge=net.bridge, ip=ip, prefixlen=net.prefixlen,
                    gateway=net.gateway, mac=mac_for(ip), sandbox_key=f"/run/netns/{cid[:12]}",
                    endpoint_id=cid[:32] + net.id[:32], hairpin=not net.userland_proxy,
                    host_if=host_if or "veth" + os.urandom(4).hex()[:7])


def attach_steps(ep: Endpoint, pid: int, cid: str) -> list[Step]:
    # the container's end gets its MAC at creation: 02:42 + its IPv4, like Docker <= 27
    steps: list[Step] = [CreateVeth(ep.host_if, ep.bridge, pid, peer_if=ep.ifname, peer_mac=ep.mac)]
    if ep.hairpin:
        steps.append(Hairpin(ep.host_if))
    steps += [
        ConfigureInterface(pid, ep.ifname, f"{ep.ip}/{ep.prefixlen}", ep.gateway),
        BindNetns(pid, cid[:12]),
    ]
    return steps


def detach(networks: NetworkStore, journal: Journal, endpoints: list[Endpoint], cid: str) -> list[str]:
    """Undo the journal, then free the leases. Reads the networks' records as they are: teardown
    enforces no creation-time policy (a --userland-proxy flag on this command must not stop it)."""
    import minicontainer.network.journaled  # noqa: F401 - every journaled Step class, for old journals
    errors = journal.undo()
    for ep in endpoints:
        net = networks.load(ep.network)
        if net is not None:
            networks.ipam(net).release(ep.ip, cid)
    return errors
