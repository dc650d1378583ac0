"""The kernel's connection tracking table, read for our containers: each tracked flow as who opened
it, to where, and how the other side sees it after NAT.

conntrack keeps two tuples per flow: the original one (as the opener sent its first packet) and
the reply one (what the answers look like). NAT shows as a difference between them: with
MASQUERADE the replies go to the host's address, not to the container's (`leaves as`); with a
published port's DNAT they come from the container, not from the host port that was asked for
(`arrives as`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuple:
    proto: str
    saddr: str
    daddr: str
    sport: int | None = None  # tcp/udp/sctp ports; None for icmp and the others
    dport: int | None = None

    def src(self) -> str:
        return _at(self.saddr, self.sport)

    def dst(self) -> str:
        return _at(self.daddr, self.dport)


def _at(addr: str, port: int | None) -> str:
    return f"{addr}:{port}" if port is not None else addr


@dataclass(frozen=True)
class Flow:
    orig: Tuple
    reply: Tuple
    state: str = ""   # TCP's state, if it is TCP
    timeout: int = 0

    @property
    def dnat(self) -> bool:
        """The opener's destination was rewritten (a published port): replies come from elsewhere."""
        return (self.reply.saddr, self.reply.sport) != (self.orig.daddr, self.orig.dport)

    @property
    def snat(self) -> bool:
        """The opener's source was rewritten (MASQUERADE): replies go to another address."""
        return (self.reply.daddr, self.reply.dport) != (self.orig.saddr, self.orig.sport)

    def describe(self) -> str:
        """`SRC -> DST`, then what NAT made of it: `arrives as` the real destination after DNAT,
        `from` the source the destination sees after SNAT, `leaves as` that same source when the
        flow goes out of a host (MASQUERADE, no DNAT)."""
        text = f"{self.orig.src()} -> {self.orig.dst()}"
        if self.dnat:
            text += f" arrives as {self.reply.src()}"
            if self.snat:
                text += f" from {self.reply.dst()}"
        elif self.snat:
            text += f" leaves as {self.reply.dst()}"
        return text

    def addresses(self) -> set[str]:
        return {self.orig.saddr, self.orig.daddr, self.reply.saddr, self.reply.daddr}


PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 132: "sctp", 33: "dccp", 136: "udplite", 2: "igmp", 47: "gre"}
_PORTED = ("tcp", "udp", "sctp", "udplite", "dccp")


def _tuple(t) -> Tuple:
    proto = PROTOCOLS.get(t.proto, str(t.proto))
    if proto in _PORTED:
        return Tuple(proto, t.saddr, t.daddr, t.sport, t.dport)
    return Tuple(proto, t.saddr, t.daddr)


def flows() -> list[Flow]:
    """Every IPv4 flow the kernel tracks in this network namespace."""
    from pyroute2 import Conntrack  # a diagnostic command: pyroute2's import (~100 ms) is its cost
    out = []
    with Conntrack() as ct:
        for entry in ct.dump_entries():
            orig, reply = entry.tuple_orig, entry.tuple_reply
            if orig is None or reply is None or ":" in (orig.saddr or ":"):
                continue
            info = entry.protoinfo
            state = info.state_name() if info is not None and hasattr(info, "state_name") else ""
            out.append(Flow(_tuple(orig), _tuple(reply), state, entry.timeout or 0))
    return out
