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


def render(rt, networks) -> str:
    notes = expected(rt, networks)
    chains = {name for n in networks.list() for names in Chains(n.chain_prefix).owned().values() for name in names}
    bridges = {n.bridge for n in networks.list()}
    backends = sorted({n.firewall_backend for n in networks.list()}) or [host_backend()]
    out, seen = [], set()
    for backend in backends:
        out += render_backend(backend, notes, chains, bridges, seen)
    missing = [f"#   -t {t} {line}" for (t, line) in notes if (t, line) not in seen]
    if missing:
        out.append("# MISSING from the kernel (deleted behind our back? the state records expect them):")
        out += missing
    return "\n".join(out) + "\n"


def render_backend(backend: str, notes: dict, chains: set[str], bridges: set[str], seen: set) -> list[str]:
    """One backend's tables: our chains and rules, each with its note; adds what it showed to seen."""
    out = [f"# minicontainer's rules in {HEADERS[backend]} (what `{iptables_command(backend)}-save` shows; "
           f"`{iptables_command(backend)} -S` and `-L` read the same tables)"]
    for table in (FILTER, NAT):
        save = subprocess.run([save_command(backend), "-t", table], capture_output=True, text=True).stdout
        out.append(f"*{table}")
        for line in save.splitlines():
            if line.startswith(":") and line.split()[0][1:] in chains:
                out.append(line)
            elif line.startswith("-A") and ((table, line) in notes or _ours(line, chains, bridges)):
                note = notes.get((table, line))
                out.append(f"# {note}" if note else "# ? not made by minicontainer: someone else's rule in our chains")
                out.append(line)
                seen.add((table, line))
        out.append("COMMIT")
    return out
