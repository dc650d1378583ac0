"""Connecting a container to a bridge network and disconnecting it (CNI's ADD and DEL).

attach() runs in the supervisor between fork and "go": the child already has its network namespace
but has not started the command yet. Everything it does on the host is journaled, so detach() (or the
reaper, if the supervisor died) can undo exactly that, in reverse.
"""

from __future__ import annotations

import os

from minicontainer.kernel.netlink import BindNetns, ConfigureInterface, CreateVeth, Hairpin
from minicontainer.network.ipam import mac_for
from minicontainer.network.networks import Network, NetworkStore
from minicontainer.plan import Journal


def endpoint(net: Network, ip: str, cid: str) -> dict:
    """What inspect shows under NetworkSettings, kept in the container record."""
    return {"Network": net.name, "NetworkID": net.id, "IPAddress": ip, "IPPrefixLen": net.prefixlen,
            "Gateway": net.gateway, "MacAddress": mac_for(ip), "Bridge": net.bridge,
            "SandboxKey": f"/run/netns/{cid[:12]}", "EndpointID": cid[:32] + net.id[:32],
            "Hairpin": not net.userland_proxy}


def reserve(networks: NetworkStore, net: Network, cid: str) -> dict:
    """Lease an address for the container; the calling process (its supervisor) holds the lease."""
    networks.ensure_up(net)
    ip = networks.ipam(net).allocate(cid)
    return endpoint(net, ip, cid)


def attach_steps(ep: dict, pid: int, cid: str):
    host_if = "veth" + os.urandom(4).hex()[:7]
    # the container's end gets its MAC at creation: 02:42 + its IPv4, like Docker <= 27
    steps = [CreateVeth(host_if, ep["Bridge"], pid, peer_mac=ep["MacAddress"])]
    if ep.get("Hairpin"):
        steps.append(Hairpin(host_if))
    steps += [
        ConfigureInterface(pid, "eth0", f"{ep['IPAddress']}/{ep['IPPrefixLen']}", ep["Gateway"]),
        BindNetns(pid, cid[:12]),
    ]
    return steps


def attach(journal: Journal, ep: dict, pid: int, cid: str) -> None:
    journal.apply(attach_steps(ep, pid, cid))


def detach(networks: NetworkStore, journal: Journal, ep: dict | None, cid: str) -> list[str]:
    errors = journal.undo()
    if ep:
        networks.ipam(networks.get(ep["Network"])).release(ep["IPAddress"], cid)
    return errors
