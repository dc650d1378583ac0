"""Our firewall rules as they are in the kernel, in iptables-save form, each with a comment saying which
network or container (and published port) it belongs to and why it exists. The output is still valid
iptables-restore input. Rules in our chains that nothing of ours explains are flagged, and rules we
expect but the kernel lacks are listed at the end."""

from __future__ import annotations

import subprocess

from minicontainer.network.backends import LEGACY, NFT, host_backend, iptables_command, save_command
from minicontainer.network.rules import FILTER, NAT, Chains, port_rules


def expected(rt, networks) -> dict[tuple[str, str], str]:
    """(table, save line) -> the comment for it, from the state records."""
    notes: dict[tuple[str, str], str] = {}
    for net in networks.list():
        base, hooks, own = networks.kernel(net).rule_sets()
        for r in base + hooks:
            notes.setdefault((r.table, r.save_line()), f"all networks: {r.why or 'ends our chain'}")
        for r in own:
            notes[(r.table, r.save_line())] = f"network {net.name}: {r.why}"
    by_name = {n.name: n for n in networks.list()}
    for rec in rt.list():
        for p in rec.ports:
            ep = next((e for e in rec.endpoints if e.ip == p.container_ip), None)  # the ports' network
            if ep is None or ep.network not in by_name or ":" in p.host_ip:
                continue  # not on a network of ours, or IPv6 (served by the proxy alone)
            net = by_name[ep.network]
            host_ip = "" if p.host_ip == "0.0.0.0" else p.host_ip
            for r in port_rules(Chains(net.chain_prefix), net.bridge, p.proto, host_ip, p.host_port,
                                ep.ip, p.container_port, net.userland_proxy):
                notes[(r.table, r.save_line())] = (f"container {rec.name}: {p.host_ip}:{p.host_port} -> "
                                                   f"{p.key}: {r.why}")
    return notes


def _ours(line: str, chains: set[str], bridges: set[str]) -> bool:
    words = line.split()
    return any(w in chains or w in bridges for w in words)


HEADERS = {LEGACY: "the legacy x_tables backend", NFT: "nf_tables, through iptables-nft"}


def _names(networks) -> tuple[set[str], set[str]]:
    """Our chains and bridges: what makes a rule ours even when no record explains it."""
    chains = {name for n in networks.list() for names in Chains(n.chain_prefix).owned().values() for name in names}
    return chains, {n.bridge for n in networks.list()}


def _backends(networks) -> list[str]:
    return sorted({n.firewall_backend for n in networks.list()}) or [host_backend()]


def zero(rt, networks) -> list[str]:
    """Zero the counters of the rules our records say we made (`network rules --zero`), never of
    another tool's, even in our chains or naming our bridge; returns the commands."""
    from minicontainer.network.counters import counted
    from minicontainer.network.counters import zero as zero_rules
    notes = expected(rt, networks)
    done = []
    for backend in _backends(networks):
        ours = [r for table in (FILTER, NAT) for r in counted(backend, table) if (table, r.line) in notes]
        done += zero_rules(backend, ours)
    return done


def render(rt, networks, counters: bool = False) -> str:
    """counters: each rule with its packet and byte counts (iptables-save -c form)."""
    notes = expected(rt, networks)
    chains, bridges = _names(networks)
    out, seen = [], set()
    for backend in _backends(networks):
        out += render_backend(backend, notes, chains, bridges, seen, counters)
    missing = [f"#   -t {t} {line}" for (t, line) in notes if (t, line) not in seen]
    if missing:
        out.append("# MISSING from the kernel (deleted behind our back? the state records expect them):")
        out += missing
    return "\n".join(out) + "\n"


def render_backend(backend: str, notes: dict, chains: set[str], bridges: set[str], seen: set,
                   counters: bool = False) -> list[str]:
    """One backend's tables: our chains and rules, each with its note; adds what it showed to seen."""
    out = [f"# minicontainer's rules in {HEADERS[backend]} (what `{iptables_command(backend)}-save"
           f"{' -c' if counters else ''}` shows; `{iptables_command(backend)} -S` and `-L` read the same tables)"]
    from minicontainer.network.counters import split_counted
    for table in (FILTER, NAT):
        argv = [save_command(backend), *(["-c"] if counters else []), "-t", table]
        save = subprocess.run(argv, capture_output=True, text=True).stdout
        out.append(f"*{table}")
        for raw in save.splitlines():
            line, counts = split_counted(raw)
            if line.startswith(":") and line.split()[0][1:] in chains:
                out.append(raw)
            elif line.startswith("-A") and ((table, line) in notes or _ours(line, chains, bridges)):
                note = notes.get((table, line))
                tally = f"   ({counts[0]} packets, {counts[1]} bytes)" if counts else ""
                out.append((f"# {note}" if note else "# ? not made by minicontainer: someone else's rule in our chains")
                           + tally)
                out.append(raw)
                seen.add((table, line))
        out.append("COMMIT")
    return out
