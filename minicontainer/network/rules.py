"""The firewall rules of Docker's (<= 27) bridge driver as plain data: pure, testable without root.

A Rule renders itself the way `iptables-save` prints it, and the firewall driver turns it into a
kernel rule. Our chains are Docker's with our own prefix (default MC): DOCKER -> MC,
DOCKER-USER -> MC-USER, DOCKER-ISOLATION-STAGE-1/2 -> MC-ISOLATION-STAGE-1/2, so both can coexist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NAT, FILTER = "nat", "filter"


@dataclass(frozen=True)
class Chains:
    """The names of our chains, one for each of Docker's, under a prefix."""

    prefix: str = "MC"

    @property
    def main(self) -> str:          # Docker's DOCKER (in nat and in filter)
        return self.prefix

    @property
    def user(self) -> str:          # DOCKER-USER
        return f"{self.prefix}-USER"

    @property
    def isolation1(self) -> str:    # DOCKER-ISOLATION-STAGE-1
        return f"{self.prefix}-ISOLATION-STAGE-1"

    @property
    def isolation2(self) -> str:    # DOCKER-ISOLATION-STAGE-2
        return f"{self.prefix}-ISOLATION-STAGE-2"

    def owned(self) -> dict[str, list[str]]:
        """The chains we create, per table."""
        return {NAT: [self.main], FILTER: [self.main, self.isolation1, self.isolation2, self.user]}

    def base_rule_counts(self) -> dict[tuple[str, str], int]:
        """How many rules each of our chains holds when no network uses it (base_rules' RETURNs):
        more means a network still does."""
        return {(FILTER, self.isolation1): 1, (FILTER, self.isolation2): 1, (FILTER, self.user): 1,
                (FILTER, self.main): 0, (NAT, self.main): 0}

    def to_docker(self, text: str) -> str:
        """Map our chain names back to Docker's (to compare with a real Docker host)."""
        return re.sub(rf"(?<![\w-]){re.escape(self.prefix)}(?=-USER|-ISOLATION|\s|$)", "DOCKER", text, flags=re.M)


@dataclass(frozen=True)
class BuiltinOnly:
    """No chains of our own: for rules that go only into built-in chains (our accepts in the other
    backend's FORWARD, a chain policy)."""

    def owned(self) -> dict[str, list[str]]:
        return {}


def _neg(value: str) -> tuple[str, str]:
    return ("! ", value[1:]) if value.startswith("!") else ("", value)


@dataclass(frozen=True)
class Rule:
    """One iptables rule as data: table, chain, matches and target, rendered like iptables-save."""

    table: str
    chain: str
    target: str
    src: str = ""
    dst: str = ""
    in_iface: str = ""
    out_iface: str = ""
    proto: str = ""
    matches: tuple = ()              # ((name, ((option, value), ...)), ...) in iptables-save order
    target_opts: tuple = ()          # ((option, value), ...)
    position: int | None = field(default=None, compare=False)  # insert at this index; None: append
    why: str = field(default="", compare=False)

    def spec(self) -> str:
        """The rule as iptables-save prints it, without the leading `-A CHAIN`."""
        parts = []
        for flag, value in (("-s", self.src), ("-d", self.dst), ("-i", self.in_iface), ("-o", self.out_iface),
                            ("-p", self.proto)):
            if value:
                neg, v = _neg(value)
                parts.append(f"{neg}{flag} {v}")
        for name, opts in self.matches:
            parts.append(f"-m {name}" + "".join(f" --{k} {v}" for k, v in opts))
        parts.append(f"-j {self.target}" + "".join(f" --{k} {v}" for k, v in self.target_opts))
        return " ".join(parts)

    def save_line(self) -> str:
        return f"-A {self.chain} {self.spec()}"

    def command(self, action: str = "-A", index: int | None = None, iptables: str = "iptables") -> str:
        """The equivalent command line (-I with a 1-based index inserts there); iptables: the
        command that reaches the backend (network/backends.py iptables_command)."""
        where = f"{self.chain} {index}" if index is not None else self.chain
        return f"{iptables} --wait -t {self.table} {action} {where} {self.spec()}"

    def restore_line(self, action: str = "-A", index: int | None = None) -> str:
        """The same change as an iptables-restore line."""
        where = f"{self.chain} {index}" if index is not None else self.chain
        return f"{action} {where} {self.spec()}"

    def planned_command(self, iptables: str = "iptables") -> str:
        """The command that adds it, before knowing what the chain holds (a dry run's best guess)."""
        return self.command(*self.planned_action(), iptables=iptables)

    def planned_action(self) -> tuple[str, int | None]:
        return ("-A", None) if self.position is None else ("-I", self.position + 1)


def _host(ip: str) -> str:
    return ip if "/" in ip else f"{ip}/32"


# ---------------------------------------------------------------- rule builders (Docker <= 27 layout)

def base_rules(c: Chains) -> list[Rule]:
    """What dockerd installs at start, before any network: the RETURNs ending our own chains."""
    return [
        Rule(FILTER, c.isolation1, "RETURN"),
        Rule(FILTER, c.isolation2, "RETURN"),
        Rule(FILTER, c.user, "RETURN", why="a place for the admin's own rules, evaluated first"),
    ]


def hook_rules(c: Chains, hairpin_nat: bool = False) -> list[Rule]:
    """Jumps from the built-in chains into ours (FORWARD order matters: USER, then ISOLATION)."""
    out_local = (("addrtype", (("dst-type", "LOCAL"),)),)
    return [
        Rule(FILTER, "FORWARD", c.user, position=0, why="admin rules first, like DOCKER-USER"),
        Rule(FILTER, "FORWARD", c.isolation1, position=1, why="drop traffic between different bridge networks"),
        Rule(NAT, "PREROUTING", c.main, matches=out_local, why="traffic arriving for a local address may be a published port"),
        Rule(NAT, "OUTPUT", c.main, dst="" if hairpin_nat else "!127.0.0.0/8", matches=out_local,
             why="the host's own connections to a local address too (loopback goes to the proxy)"),
    ]


def network_rules(c: Chains, bridge: str, subnet: str, userland_proxy: bool = True, *, internal: bool = False,
                  icc: bool = True, masquerade: bool = True) -> list[Rule]:
    """Per bridge network, in the order iptables-save shows them on a Docker host (27.x's
    setupIPTablesInternal, or setupInternalNetworkRules for --internal; setIcc; setINC)."""
    rules = []
    if not userland_proxy and not internal:
        rules.append(Rule(NAT, "POSTROUTING", "MASQUERADE", out_iface=bridge, matches=(("addrtype", (("src-type", "LOCAL"),)),),
                          why="host-originated (127.0.0.1) connections DNATed onto the bridge get a bridge source"))
    if masquerade and not internal:
        rules.append(Rule(NAT, "POSTROUTING", "MASQUERADE", src=subnet, out_iface=f"!{bridge}",
                          why=f"containers of {subnet} reach the outside with the host's address"))
        if userland_proxy:
            rules.append(Rule(NAT, c.main, "RETURN", in_iface=bridge,
                              why="no DNAT for traffic from the bridge itself (the proxy handles it)"))
    if internal:
        rules += [
            Rule(FILTER, c.isolation1, "DROP", out_iface=bridge, src=f"!{subnet}", position=0,
                 why="--internal: nothing from outside the network's subnet into its bridge"),
            Rule(FILTER, c.isolation1, "DROP", in_iface=bridge, dst=f"!{subnet}", position=1,
                 why="--internal: nothing from its bridge to outside the network's subnet"),
        ]
    else:
        rules += [
            Rule(FILTER, "FORWARD", "ACCEPT", out_iface=bridge, matches=(("conntrack", (("ctstate", "RELATED,ESTABLISHED"),)),),
                 why="replies to connections containers opened"),
            Rule(FILTER, "FORWARD", c.main, out_iface=bridge, why="new connections into the bridge: only published ports"),
            Rule(FILTER, "FORWARD", "ACCEPT", in_iface=bridge, out_iface=f"!{bridge}", why="containers may go out"),
        ]
    if icc:
        rules.append(Rule(FILTER, "FORWARD", "ACCEPT", in_iface=bridge, out_iface=bridge,
                          why="containers on one bridge talk to each other"))
    else:
        rules.append(Rule(FILTER, "FORWARD", "DROP", in_iface=bridge, out_iface=bridge,
                          why="enable_icc=false: containers on this bridge may not talk to each other"))
    rules += [
        Rule(FILTER, c.isolation1, c.isolation2, in_iface=bridge, out_iface=f"!{bridge}", position=0,
             why="traffic leaving this bridge for another bridge is checked in stage 2"),
        Rule(FILTER, c.isolation2, "DROP", out_iface=bridge, position=0,
             why="no traffic from another bridge network into this one"),
    ]
    return rules


def port_rules(c: Chains, bridge: str, proto: str, host_ip: str, host_port: int, ctr_ip: str, ctr_port: int,
               userland_proxy: bool = True) -> list[Rule]:
    """Per published port: the filter ACCEPT, then the DNAT and the hairpin MASQUERADE, in the order
    they take effect (filter commits first: no traffic is sent to the container before it may pass)."""
    dport = ((proto, (("dport", str(ctr_port)),)),)
    return [
        Rule(FILTER, c.main, "ACCEPT", dst=_host(ctr_ip), in_iface=f"!{bridge}", out_iface=bridge, proto=proto,
             matches=dport, why=f"let the forwarded traffic for {proto}/{ctr_port} into the bridge"),
        Rule(NAT, c.main, "DNAT", dst="" if host_ip in ("", "0.0.0.0") else _host(host_ip),
             in_iface=f"!{bridge}" if userland_proxy else "", proto=proto,
             matches=((proto, (("dport", str(host_port)),)),), target_opts=(("to-destination", f"{ctr_ip}:{ctr_port}"),),
             why=f"DNAT: traffic to host port {host_port} goes to {ctr_ip}:{ctr_port}"),
        Rule(NAT, "POSTROUTING", "MASQUERADE", src=_host(ctr_ip), dst=_host(ctr_ip), proto=proto, matches=dport,
             why="hairpin: the container reaching its own published port sees the gateway as source"),
    ]


def iptables_save(rules: list[Rule], c: Chains, policies: dict[str, str] | None = None) -> str:
    """Render rules as iptables-save would print the tables (chain lines sorted, rules in order)."""
    policies = policies or {}
    builtin = {NAT: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"], FILTER: ["INPUT", "FORWARD", "OUTPUT"]}
    out = []
    for table in (FILTER, NAT):
        out.append(f"*{table}")
        for chain in builtin[table]:
            out.append(f":{chain} {policies.get(chain, 'ACCEPT') if table == FILTER else 'ACCEPT'} [0:0]")
        for chain in sorted(c.owned()[table]):
            out.append(f":{chain} - [0:0]")
        for chain in builtin[table] + sorted(c.owned()[table]):
            content: list[Rule] = []
            for r in rules:
                if r.table == table and r.chain == chain:
                    content.insert(r.position, r) if r.position is not None else content.append(r)
            out += [r.save_line() for r in content]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- inside a container's namespace

@dataclass(frozen=True)
class ResolverChains:
    """The chains of the embedded DNS server, in the container's own nat table (Docker's names:
    nothing else is in that table to clash with)."""

    output: str = "DOCKER_OUTPUT"
    postrouting: str = "DOCKER_POSTROUTING"

    def owned(self) -> dict[str, list[str]]:
        return {NAT: [self.output, self.postrouting]}


def resolver_rules(address: str, udp_port: int, tcp_port: int, c: ResolverChains = ResolverChains()) -> list[Rule]:
    """libnetwork's setupIptablesNAT: queries to address:53 go to the listeners' ports, their
    replies leave from port 53. In the order iptables-save shows them on a Docker host."""
    host = _host(address)
    out = [Rule(NAT, "OUTPUT", c.output, dst=host, position=0, why="the container's queries to the resolver's address"),
           Rule(NAT, "POSTROUTING", c.postrouting, dst=host, position=0, why="and the resolver's replies")]
    for proto, port in (("tcp", tcp_port), ("udp", udp_port)):
        out.append(Rule(NAT, c.output, "DNAT", dst=host, proto=proto, matches=((proto, (("dport", "53"),)),),
                        target_opts=(("to-destination", f"{address}:{port}"),),
                        why=f"{address}:53/{proto} is the resolver's listener on port {port}"))
    for proto, port in (("tcp", tcp_port), ("udp", udp_port)):
        out.append(Rule(NAT, c.postrouting, "SNAT", src=host, proto=proto, matches=((proto, (("sport", str(port)),)),),
                        target_opts=(("to-source", ":53"),), why=f"its {proto} replies come from port 53"))
    return out
