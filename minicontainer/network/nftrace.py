"""Follow packets through the nf_tables ruleset: a table of our own marks exactly the flow asked
for (`meta nftrace set 1`, at the prerouting and output hooks before anything else, priority
-350), and the kernel then reports every base chain and rule the marked packets meet, in every
nf_tables table, iptables-nft's included (`nft monitor trace`). Legacy x_tables rules are not
nf_tables: they do not show.

The table is named after its owner (pid and start time) and recorded in <root>/traces/ before it
is made, so a trace killed in the middle is cleaned by the next command (network/tracemarks.py).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field

from minicontainer.kernel import proc
from minicontainer.network import tracemarks

PRIORITY = -350  # before raw (-300), conntrack (-200) and NAT (-100): the packet as it came


@dataclass(frozen=True)
class Match:
    """The flow to mark: nft expressions for its packets toward the destination."""

    daddrs: tuple[str, ...] = ()     # any of these destination addresses ("" none: any)
    dports: tuple[int, ...] = ()     # any of these destination ports (tcp/udp)
    proto: str = "tcp"               # tcp, udp or icmp
    saddr: str = ""                  # only from this source address
    from_host: bool | None = None    # True: only the host's own (output hook); False: only arriving

    def expressions(self) -> str:
        parts = []
        if self.saddr:
            parts.append(f"ip saddr {self.saddr}")
        if self.daddrs:
            parts.append("ip daddr " + (self.daddrs[0] if len(self.daddrs) == 1 else
                                        "{ " + ", ".join(self.daddrs) + " }"))
        if self.proto == "icmp":
            parts.append("ip protocol icmp")
        elif self.dports:
            ports = str(self.dports[0]) if len(self.dports) == 1 else "{ " + ", ".join(map(str, self.dports)) + " }"
            parts.append(f"{self.proto} dport {ports}")
        else:
            parts.append(f"meta l4proto {self.proto}")
        return " ".join(parts)


def script(name: str, match: Match) -> str:
    """The nft script that makes the marking table (one transaction)."""
    lines = [f"table ip {name} {{"]
    hooks = {"prerouting": match.from_host is not True, "output": match.from_host is not False}
    for hook, wanted in hooks.items():
        if wanted:
            lines += [f"  chain {hook} {{", f"    type filter hook {hook} priority {PRIORITY}; policy accept;",
                      f"    {match.expressions()} meta nftrace set 1", "  }"]
    return "\n".join(lines + ["}"]) + "\n"


def _nft(args: list[str], stdin: str | None = None, check: bool = True) -> str:
    p = subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise OSError(f"nft {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


@dataclass
class TraceTable:
    """The marking table of one trace: made by open(), removed by close() (or by tracemarks.sweep())."""

    root_lib: str
    match: Match
    name: str = ""
    marker: str = ""

    def open(self) -> str:
        me = os.getpid()
        self.name = tracemarks.table_name(me, proc.start_ticks(me))
        self.marker = tracemarks.record(self.root_lib, self.name)  # before it exists: a crash after this is swept
        text = script(self.name, self.match)
        _nft(["-f", "-"], text)
        return text

    def nudge(self, n: int) -> None:
        """A change the monitor reports (an empty chain `ready_N`), for when it subscribed only after
        the table was made: once it reports one, it is listening."""
        _nft(["add", "chain", "ip", self.name, f"ready_{n}"])

    def close(self) -> None:
        if self.name:
            _nft(["delete", "table", "ip", self.name], check=False)
        if self.marker:
            try:
                os.unlink(self.marker)
            except FileNotFoundError:
                pass


# ---------------------------------------------------------------- what the kernel reports

_LINE = re.compile(r"^trace id (\w+) (\w+) (\S+) (\S+) (.*)$")
_COUNTER = re.compile(r"\s*\bcounter packets \d+ bytes \d+")


def drop_counters(rule_text: str) -> str:
    """A rule as nft prints it, without its counter's values (they change with every packet)."""
    return _COUNTER.sub("", rule_text).strip()


@dataclass
class Event:
    """One line of `nft monitor trace`: which chain, and what happened there."""

    family: str
    table: str
    chain: str
    kind: str       # packet, rule, verdict, policy
    text: str       # the packet's fields, the rule (counters dropped), or the verdict


@dataclass
class Packet:
    """The events of one traced packet (one trace id), in order."""

    trace_id: str
    events: list[Event] = field(default_factory=list)


def parse(line: str) -> tuple[str, Event] | None:
    m = _LINE.match(line.strip())
    if not m:
        return None
    trace_id, family, table, chain, rest = m.groups()
    kind, _, text = rest.partition(" ")
    kind = kind.rstrip(":")
    if kind not in ("packet", "rule", "verdict", "policy"):
        return None
    return trace_id, Event(family, table, chain, kind, drop_counters(text))


def _die_with_parent() -> None:
    import signal

    from minicontainer.kernel import syscalls as sc
    sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)


def monitor() -> subprocess.Popen:
    """`nft monitor`, line by line on its stdout: the trace events, and the ruleset's changes, among
    them our marking table's creation, which says the monitor is listening (no packet it marks can
    be missed). It dies with the trace: a kill -9 of the trace must not leave it listening."""
    return subprocess.Popen(["nft", "monitor"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, bufsize=1, preexec_fn=_die_with_parent)
