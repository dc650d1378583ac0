"""The firewall interface (netavark's FirewallDriver, CNI's PortMapper) and the one place a driver is
chosen. Rules are data (network/rules.py); a driver only puts them into the kernel and takes them out.

Today there is one driver, python-iptables on the legacy x_tables backend (network/iptc_firewall.py).
A driver for nf_tables (what `iptables` is on Debian 12 and Fedora) goes behind the same protocol,
chosen by firewall_for().
"""

from __future__ import annotations

from typing import Protocol

from minicontainer.network.rules import Chains, Rule


class Firewall(Protocol):
    def add(self, rules: list[Rule], commit: bool = True) -> list[str]:
        """Create our missing chains, then add each rule that is not there yet. Returns what it did
        (without commit: what it would do) as iptables commands."""

    def remove(self, rules: list[Rule]) -> list[str]:
        """Delete each rule that is there; returns the commands of those it deleted."""

    def remove_chains(self) -> list[str]:
        """Delete our chains (after the rules that jump to them)."""

    def in_use(self) -> bool:
        """True while our chains hold more than their base rules (a network still uses them)."""

    def set_forward_policy(self, policy: str) -> None:
        """The policy of the built-in FORWARD chain."""


def firewall_for(chain_prefix: str = "MC") -> Firewall:
    """The driver for a network's rules, keyed by its settings (today: its chain prefix)."""
    from minicontainer.network.iptc_firewall import IptablesFirewall
    return IptablesFirewall(Chains(chain_prefix))


def add_in_netns(netns_path: str, chains, rules: list[Rule]) -> list[str]:
    """Add rules to the tables of another network namespace (a container's, for its embedded DNS
    server), in one `iptables-legacy-restore --noflush` run inside it. Not python-iptables: the
    process that does this is the container's supervisor, which would keep libiptc loaded (1.7 MiB
    a container) for four rules. Legacy tables, as the host's rules are today; a choice of backend
    (the iptables-nft issue) decides this one too. Returns the commands, as the other drivers do."""
    import subprocess
    lines = []
    for table in sorted({r.table for r in rules}):
        lines += [f"*{table}"] + [f":{name} - [0:0]" for name in chains.owned().get(table, [])]
        lines += [r.save_line() if r.position is None else f"-I {r.chain} {r.position + 1} {r.spec()}"
                  for r in rules if r.table == table]
        lines.append("COMMIT")
    proc = subprocess.run(["nsenter", f"--net={netns_path}", "iptables-legacy-restore", "--noflush", "--wait"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True)
    if proc.returncode != 0:
        raise OSError(f"iptables-legacy-restore in {netns_path}: {proc.stderr.strip()}")
    return [r.planned_command() for r in rules]
