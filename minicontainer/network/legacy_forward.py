"""Our bridge accepted in the legacy FORWARD chain when our rules are in nf_tables: a legacy
`:FORWARD DROP` (set by an older Docker, or a firewall script run with iptables-legacy) sees every
forwarded packet too, and an nf_tables accept does not outvote it (network/nftables.py says why).

The legacy filter table is only read if it exists already (/proc/net/ip_tables_names): reading it
would create it, on a host that has none.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from minicontainer.network.backends import LEGACY, save_command
from minicontainer.network.rules import FILTER, BuiltinOnly, Rule
from minicontainer.plan import Step, state


def legacy_filter_exists() -> bool:
    try:
        with open("/proc/net/ip_tables_names") as f:
            return FILTER in f.read().split()
    except FileNotFoundError:  # no ip_tables in this kernel
        return False


def legacy_forward() -> tuple[str, list[str]]:
    """The legacy FORWARD chain's policy and rules ("ACCEPT", [] where there is no such table)."""
    if not legacy_filter_exists():
        return "ACCEPT", []
    from minicontainer.network.restore_firewall import parse_save
    out = subprocess.run([save_command(LEGACY), "-t", FILTER], capture_output=True, text=True).stdout
    table = parse_save(out).get(FILTER)
    if table is None:
        return "ACCEPT", []
    return table.policies.get("FORWARD", "ACCEPT"), table.chains.get("FORWARD", [])


def accepts(bridge: str) -> list[Rule]:
    why = "the legacy FORWARD policy is DROP: let our bridge's traffic through it"
    return [Rule(FILTER, "FORWARD", "ACCEPT", out_iface=bridge, position=0, why=why),
            Rule(FILTER, "FORWARD", "ACCEPT", in_iface=bridge, position=0, why=why)]


@dataclass
class AcceptOnLegacyForward(Step):
    """`-I FORWARD -o BR -j ACCEPT` and `-i BR` in the legacy filter table, if its FORWARD drops."""

    bridge: str
    done: list[str] | None = state()
    undone: list[str] = state(())
    why = "the legacy FORWARD chain has policy DROP: accept our bridge there too (our rules are in nf_tables)"

    def needed(self, view=None) -> bool:
        """view: a network/forward_view.py ForwardView to read from instead of the kernel."""
        policy, rules = view.legacy() if view is not None else legacy_forward()
        return policy == "DROP" and any(r.save_line() not in rules for r in accepts(self.bridge))

    def _firewall(self):
        from minicontainer.network.firewall import firewall_for
        return firewall_for(LEGACY, BuiltinOnly())

    def do(self) -> None:
        self.done = self._firewall().add(accepts(self.bridge)) if self.needed() else []

    def undo(self) -> None:
        if not legacy_filter_exists():
            return
        _, rules = legacy_forward()
        present = [r for r in accepts(self.bridge) if r.save_line() in rules]
        self.undone = self._firewall().remove(present) if present else []

    def explain(self) -> str:
        if self.done is None:
            if not self.needed():
                return "# (no command: the legacy FORWARD chain does not drop)"
            return "\n".join(self._firewall().add(accepts(self.bridge), commit=False))
        return "\n".join(self.done) or "# (no command: the legacy FORWARD chain does not drop)"

    def explain_undo(self) -> str:
        return "\n".join(self.undone)
