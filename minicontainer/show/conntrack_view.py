"""`minicontainer conntrack [CONTAINER] [--nat]`: the kernel's tracked flows of our containers (or
of one), each as who opened it, to where, and what NAT made of it (network/conntrack.py)."""

from __future__ import annotations

import ipaddress

from minicontainer.errors import MCError


def _owners(rt, rec=None) -> dict[str, str]:
    """Address -> container name: of every running container of this root, or of rec only."""
    recs = [rec] if rec is not None else [r for r in rt.list() if r.running]
    return {ep.ip: r.name for r in recs for ep in r.endpoints if ep.ip}


def rows(rt, ref: str | None = None, nat_only: bool = False) -> list[list[str]]:
    """The table `conntrack` prints: CONTAINER, PROTO, STATE, FLOW, one row per flow."""
    from minicontainer.network.conntrack import flows
    from minicontainer.network.networks import NetworkStore
    rec = rt.get(ref) if ref else None
    if rec is not None and not rec.running:
        raise MCError(f"Error response from daemon: container {rec.name} is not running", 1)
    owners = _owners(rt, rec)
    if rec is not None and not owners:
        raise MCError(f"Error response from daemon: container {rec.name} has no address of its own "
                      f"(--network {rec.network_mode}): its flows are those of the namespace it uses", 1)
    subnets = [] if rec else [ipaddress.ip_network(n.subnet) for n in NetworkStore(rt.root).list()]
    out = []
    for flow in flows():
        if nat_only and not (flow.dnat or flow.snat):
            continue
        addresses = [flow.orig.saddr, flow.reply.saddr, flow.orig.daddr, flow.reply.daddr]
        who = next((owners[a] for a in addresses if a in owners), None)
        if who is None and not any(ipaddress.ip_address(a) in net for a in addresses for net in subnets):
            continue
        out.append([who or "-", flow.orig.proto, flow.state or "-", flow.describe()])
    return sorted(out)
