"""The step that gives a container on a user-defined network its embedded DNS server: the listeners
on 127.0.0.11 held by its supervisor (network/resolver.py), then the nat rules in its namespace
that bring port 53 to them (network/rules.py resolver_rules). Journaled: its undo closes the
listeners when the supervisor tears down; in any other process they died with the supervisor, and
the rules always go with the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minicontainer.network.backends import LEGACY, iptables_command
from minicontainer.network.rules import ResolverChains, resolver_rules
from minicontainer.plan import CONTAINER_PID, Step, journaled


@journaled
@dataclass
class EmbeddedDNS(Step):
    """Listen on 127.0.0.11 inside the container's namespace and send its port 53 there."""

    netns_pid: int
    cid: str
    root: str
    upstreams: list[str] = field(default_factory=list)  # "host(IP)" from the host's resolv.conf, "IP" from --dns
    proxy: bool = True           # the container has a way out: the host-side servers may be asked
    dotless_local: bool = False  # --dns-option ndots:N: names without a dot are never forwarded
    udp_port: int = 0            # drawn by do() (random, as Docker's), kept for undo and explain
    tcp_port: int = 0
    backend: str = LEGACY        # the firewall backend of the container's networks (journals before it: legacy)
    why = "the embedded DNS server: listeners on 127.0.0.11 in the container's namespace, held by its supervisor"

    def do(self) -> None:
        from minicontainer.network.firewall import firewall_for
        from minicontainer.network.names import NameBook
        from minicontainer.network.resolver import ADDRESS, Resolver, Upstream
        resolver = Resolver(NameBook(self.root, self.cid), [Upstream.parse(u) for u in self.upstreams],
                            self.proxy, self.dotless_local)
        netns = f"/proc/{self.netns_pid}/ns/net"
        self.udp_port, self.tcp_port = resolver.open(netns, self.udp_port, self.tcp_port)
        try:
            firewall_for(self.backend, ResolverChains(), netns).add(resolver_rules(ADDRESS, self.udp_port, self.tcp_port))
        except BaseException:
            resolver.close()
            raise
        from minicontainer.network import served
        served.add(resolver)

    def undo(self) -> None:
        from minicontainer.network import served
        served.stop(("dns", self.cid))

    def argv(self) -> list[str]:
        """minicontainer-resolver's arguments, the namespace last (explain_undo matches the rest)."""
        args = ["--root", self.root, "--container", self.cid, "--udp-port", str(self.udp_port),
                "--tcp-port", str(self.tcp_port)]
        for u in self.upstreams:
            args += ["--upstream-host", u[5:-1]] if u.startswith("host(") else ["--upstream", u]
        args += ["--no-proxy"] if not self.proxy else []
        args += ["--dotless-local"] if self.dotless_local else []
        return args

    def explain(self) -> str:
        from minicontainer.network.resolver import ADDRESS
        ns = f"nsenter --net=/proc/{CONTAINER_PID}/ns/net "
        rules = resolver_rules(ADDRESS, self.udp_port, self.tcp_port)
        chains = ResolverChains()
        lines = ["# (the supervisor holds these listeners; this is the same server as a process of its own)"]
        if not self.udp_port:
            lines.append("# (a dry run: port 0 stands for the random ports the start draws)")
        lines.append("minicontainer-resolver " + " ".join(self.argv()) + f" --netns /proc/{CONTAINER_PID}/ns/net"
                     " </dev/null >/dev/null 2>&1 &")
        ipt = iptables_command(self.backend)
        lines += [ns + f"{ipt} --wait -t nat -N {name}" for name in chains.owned()["nat"]]
        lines += [ns + r.planned_command(ipt) for r in rules]
        return "\n".join(lines)

    def explain_undo(self) -> str:
        # anchored at the end, so that it never matches the shell running this line
        return ("pkill -f -- '" + " ".join(self.argv()) + " --netns /proc/[0-9]*/ns/net$'"
                "  # the supervisor closes its listeners; the rules go with the namespace")


def dns_server_of(journal) -> EmbeddedDNS | None:
    """The container's journaled DNS server step, if it has one (a start or a connect made it)."""
    return next(iter(journal.steps(EmbeddedDNS)), None)
