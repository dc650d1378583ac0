"""The firewall interface (netavark's FirewallDriver, CNI's PortMapper) and the one place a driver is
chosen. Rules are data (network/rules.py); a driver only puts them into the kernel and takes them out.

Two drivers, one per way of writing (network/backends.py says which backend a network uses):
- legacy x_tables on the host: python-iptables (network/iptc_firewall.py), libiptc in-process;
- nf_tables through iptables-nft, and any backend inside a container's namespace: iptables-save and
  one iptables-restore --noflush (network/restore_firewall.py).
"""

from __future__ import annotations

from typing import Protocol

from minicontainer.network.backends import LEGACY
from minicontainer.network.rules import Rule


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

    def set_forward_policy(self, policy: str) -> list[str]:
        """Set the policy of the built-in FORWARD chain; returns the command."""


def firewall_for(backend: str, chains, netns: str | None = None) -> Firewall:
    """The driver for rules in `backend` (legacy or nft) behind `chains` (a rules.Chains, or
    rules.BuiltinOnly), in the host's tables or those of the network namespace at `netns`."""
    if backend == LEGACY and netns is None:
        from minicontainer.network.iptc_firewall import IptablesFirewall
        return IptablesFirewall(chains)
    from minicontainer.network.restore_firewall import RestoreFirewall
    return RestoreFirewall(chains, backend, netns)
