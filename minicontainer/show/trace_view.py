"""A traced packet's way, as text: each chain it met (hook order, as the kernel reported it), the rule
that matched and its verdict, our own rules named by what they are for, and the packet's addresses
each time they changed (after DNAT, after MASQUERADE)."""

from __future__ import annotations

import re
import subprocess

from minicontainer.network.nftrace import Event, Packet, drop_counters

_FIELDS = {"iif": r'iif "([^"]+)"', "oif": r'oif "([^"]+)"', "saddr": r"ip saddr (\S+)", "daddr": r"ip daddr (\S+)",
           "proto": r"ip protocol (\w+)", "sport": r"(?:tcp|udp) sport (\d+)", "dport": r"(?:tcp|udp) dport (\d+)",
           "flags": r"tcp flags == (\S+)", "l4": r"\b(tcp|udp|icmp) "}
_VERDICT = re.compile(r"^(.*) \(verdict (.+)\)$")


def fields(packet_text: str) -> dict[str, str]:
    out = {}
    for key, pattern in _FIELDS.items():
        m = re.search(pattern, packet_text)
        if m:
            out[key] = m.group(1)
    return out


def _flow(f: dict[str, str]) -> str:
    src = f.get("saddr", "?") + (f":{f['sport']}" if "sport" in f else "")
    dst = f.get("daddr", "?") + (f":{f['dport']}" if "dport" in f else "")
    return f"{src} -> {dst}"


def nft_notes(notes: dict[tuple[str, str], str]) -> dict[tuple[str, str, str], str]:
    """(table, chain, nft rule text) -> our note: `nft list chain` and `iptables-nft-save` list a
    chain's rules in the same order, so each nft text is paired with its iptables-save line."""
    out: dict[tuple[str, str, str], str] = {}
    for table in ("filter", "nat"):
        save = subprocess.run(["iptables-nft-save", "-t", table], capture_output=True, text=True).stdout
        by_chain: dict[str, list[str]] = {}
        for line in save.splitlines():
            if line.startswith("-A "):
                by_chain.setdefault(line.split()[1], []).append(line)
        for chain, lines in by_chain.items():
            if not any((table, line) in notes for line in lines):
                continue
            listing = subprocess.run(["nft", "list", "chain", "ip", table, chain], capture_output=True,
                                     text=True).stdout
            texts = [drop_counters(t) for t in listing.splitlines()
                     if t.startswith("\t\t") and not t.strip().startswith("type ")]
            if len(texts) != len(lines):
                continue  # changed between the two reads: no notes for this chain
            for text, line in zip(texts, lines, strict=True):
                if (table, line) in notes:
                    out[(table, chain, text)] = notes[(table, line)]
    return out


def render(packets: list[Packet], marking_table: str, notes: dict[tuple[str, str, str], str]) -> str:
    out = []
    for n, packet in enumerate(packets, 1):
        seen: dict[str, str] | None = None
        for event in packet.events:
            if event.table == marking_table:
                if event.kind == "packet" and seen is None:
                    seen = fields(event.text)
                    where = f" in on {seen['iif']}" if "iif" in seen else (f" out on {seen['oif']}" if "oif" in seen
                                                                          else "")
                    flags = f" [{seen['flags']}]" if "flags" in seen else ""
                    out.append(f"packet {n}: {seen.get('l4', seen.get('proto', '?'))} {_flow(seen)}{flags}{where}"
                               f" (trace id {packet.trace_id})")
                    if not any(e.table == "nat" for e in packet.events):
                        out.append("  (no nat chain: NAT sees a connection's first packet only; conntrack "
                                   "translates the rest the same way)")
                continue
            out += _event_lines(event, seen, notes)
            if event.kind == "packet":
                now = fields(event.text)
                if seen is not None:
                    seen = {**seen, **now}
        out.append("")
    return "\n".join(out)


def _event_lines(event: Event, seen: dict[str, str] | None, notes) -> list[str]:
    where = f"  {event.family} {event.table} {event.chain}"
    if event.kind == "packet":
        now = fields(event.text)
        changed = seen is not None and any(now.get(k) and now.get(k) != seen.get(k)
                                           for k in ("saddr", "daddr", "sport", "dport"))
        ifaces = " ".join(f"{k} {now[k]}" for k in ("iif", "oif") if k in now)
        if changed:
            return [f"{where:<34} now {_flow({**(seen or {}), **now})}  ({ifaces})  <- the addresses changed (NAT)"]
        return [f"{where:<34} ({ifaces})"] if ifaces else []
    if event.kind == "rule":
        m = _VERDICT.match(event.text)
        rule, verdict = (m.group(1), m.group(2)) if m else (event.text, "")
        line = f"{where:<34} {rule}" + (f"  => {verdict}" if verdict else "")
        note = notes.get((event.table, event.chain, rule))
        return [line] + ([f"{'':<36}# ours: {note}"] if note else [])
    return [f"{where:<34} {event.kind} {event.text}"]  # policy accept / verdict ...
