"""Each rule's packet and byte counters, as the kernel keeps them, and zeroing exactly ours.

Read with one `iptables-<backend>-save -c -t TABLE` (lines `[packets:bytes] -A CHAIN spec`);
zeroed rule by rule with `iptables -Z CHAIN N`, so that the counters of other tools' rules in the
built-in chains we share (FORWARD, PREROUTING, ...) are left as they are.
"""

from __future__ import annotations

import re
import subprocess
from contextlib import nullcontext
from dataclasses import dataclass

from minicontainer.network.backends import LEGACY, binary, iptables_command, save_command

_COUNTED = re.compile(r"^\[(\d+):(\d+)\] (-A \S+ .*)$")


@dataclass(frozen=True)
class Counted:
    """One rule of a table with its counters and its place (1-based) in its chain."""

    table: str
    chain: str
    index: int
    line: str       # "-A CHAIN spec", as iptables-save prints it without -c
    packets: int
    bytes: int


def split_counted(raw: str) -> tuple[str, tuple[int, int] | None]:
    """An `iptables-save -c` line as (the line without counters, (packets, bytes)); other lines as they are."""
    m = _COUNTED.match(raw)
    return (m.group(3), (int(m.group(1)), int(m.group(2)))) if m else (raw, None)


def counted(backend: str, table: str) -> list[Counted]:
    """Every rule of the table, in order, with its counters."""
    out = subprocess.run([save_command(backend), "-c", "-t", table], capture_output=True, text=True).stdout
    rules: list[Counted] = []
    seen: dict[str, int] = {}
    for raw in out.splitlines():
        line, counts = split_counted(raw)
        if counts is not None:
            chain = line.split()[1]
            seen[chain] = seen.get(chain, 0) + 1
            rules.append(Counted(table, chain, seen[chain], line, *counts))
    return rules


def zero(backend: str, rules: list[Counted]) -> list[str]:
    """Zero these rules' counters; returns the commands, as a user would type them."""
    from minicontainer.network.fwlock import xtables_lock
    done = []
    command = binary(backend)
    with xtables_lock() if backend != LEGACY else nullcontext():  # iptables-legacy takes that lock itself
        for r in rules:
            subprocess.run([command, "-w", "-t", r.table, "-Z", r.chain, str(r.index)], check=True,
                           capture_output=True)
            done.append(f"{iptables_command(backend)} --wait -t {r.table} -Z {r.chain} {r.index}")
    return done
