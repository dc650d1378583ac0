"""Firewall steps of a network's first use: our chains with their rules, and the FORWARD policy.

Both say what they did as iptables-legacy commands: a chain or rule that was already in the kernel
(another network shares our chains) is neither added again nor printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minicontainer.plan import Step


@dataclass
class InstallRules(Step):
    chain_prefix: str
    rules: list = field(default_factory=list)
    why = "the network's firewall rules: our copy of Docker's chains, hooked into the built-in ones"

    def _firewall(self):
        from minicontainer.network.firewall import IptablesFirewall
        from minicontainer.network.rules import Chains
        return IptablesFirewall(Chains(self.chain_prefix))

    def do(self) -> None:
        self._done = self._firewall().add(self.rules)

    def explain(self) -> str:
        done = getattr(self, "_done", None)
        if done is None:  # not applied: what it would do on the kernel's current tables
            done = self._firewall().add(self.rules, commit=False)
        return "\n".join(done) or "# every rule is there already"


@dataclass
class ForwardPolicy(Step):
    policy: str
    why = "forwarding was off and we turned it on: only what our rules accept may be forwarded (Docker does the same)"

    def do(self) -> None:
        from minicontainer.network.firewall import IptablesFirewall
        from minicontainer.network.rules import Chains
        IptablesFirewall(Chains()).set_forward_policy(self.policy)

    def explain(self) -> str:
        return f"iptables-legacy --wait -t filter -P FORWARD {self.policy}"
