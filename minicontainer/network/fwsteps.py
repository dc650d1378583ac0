"""Firewall steps of a network's first use: our chains with their rules, and the FORWARD policy.

Both say what they did as the iptables commands a user types on this host: a chain or rule that was
already in the kernel (another network shares our chains) is neither added again nor printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minicontainer.network.firewall import firewall_for
from minicontainer.network.rules import BuiltinOnly, Chains
from minicontainer.plan import Step, state


@dataclass
class InstallRules(Step):
    """Our chains with their base rules and hooks (shared by every network behind the same chains),
    then the network's own rules. Undone: the network's rules, and the hooks and chains once no
    other network uses them."""

    chain_prefix: str
    backend: str
    rules: list = field(default_factory=list)   # the network's own
    base: list = field(default_factory=list)    # our chains' own rules (RETURN, ...)
    hooks: list = field(default_factory=list)   # the jumps from the built-in chains into ours
    done: list[str] | None = state()  # the commands do() really ran
    undone: list[str] = state(())     # the commands undo() really ran
    why = "the network's firewall rules: our copy of Docker's chains, hooked into the built-in ones"

    def _firewall(self):
        return firewall_for(self.backend, Chains(self.chain_prefix))

    def do(self) -> None:
        self.done = self._firewall().add(self.base + self.hooks + self.rules)

    def undo(self) -> None:
        fw = self._firewall()
        undone = fw.remove(list(reversed(self.rules)))
        if not fw.in_use():  # the last network using our chains: their hooks, then the chains
            undone += fw.remove(self.hooks) + fw.remove_chains()
        self.undone = undone

    def explain(self) -> str:
        done = self.done
        if done is None:  # not applied: what it would do on the kernel's current tables
            done = self._firewall().add(self.base + self.hooks + self.rules, commit=False)
        return "\n".join(done) or "# every rule is there already"

    def explain_undo(self) -> str:
        return "\n".join(self.undone)


@dataclass
class ForwardPolicy(Step):
    """The built-in FORWARD chain's policy."""

    policy: str
    backend: str
    done: list[str] | None = state()
    why = "forwarding was off and we turned it on: only what our rules accept may be forwarded (Docker does the same)"

    def do(self) -> None:
        self.done = firewall_for(self.backend, BuiltinOnly()).set_forward_policy(self.policy)

    def explain(self) -> str:
        from minicontainer.network.backends import iptables_command
        return "\n".join(self.done or [f"{iptables_command(self.backend)} --wait -t filter -P FORWARD {self.policy}"])
