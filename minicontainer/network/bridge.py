"""The kernel side of a bridge network: what its first use creates and what `network rm` takes away.

Its first use is a list of Steps (the bridge, sysctls, accepts in other rulesets, our chains and rules);
its removal is the same Steps undone in reverse, each saying what it undid, so `network rm
--explain` prints exactly what was taken away. The network's record stays NetworkStore's.
"""

from __future__ import annotations

from minicontainer.errors import DaemonError
from minicontainer.plan import Plan, Step
from minicontainer.store.locks import locked


class BridgeNetwork:
    def __init__(self, net, up_lock: str):
        self.net = net
        self.up_lock = up_lock  # held while its bridge and rules are being made (or repaired)

    def rule_sets(self) -> tuple[list, list, list]:
        """Our chains' base rules, their hooks (both shared by every network behind the same
        chains) and the network's own rules."""
        from minicontainer.network.rules import Chains, base_rules, hook_rules, network_rules
        net, c = self.net, Chains(self.net.chain_prefix)
        return (base_rules(c), hook_rules(c, hairpin_nat=not net.userland_proxy),
                network_rules(c, net.bridge, net.subnet, net.userland_proxy, internal=net.internal, icc=net.icc,
                              masquerade=net.masquerade))

    def rules(self) -> list:
        """Every rule the network needs, in the order they are added."""
        base, hooks, own = self.rule_sets()
        return base + hooks + own

    def accept_steps(self) -> list[Step]:
        """Accepts for the bridge in the forward chains of rulesets that are not ours (a packet must
        pass them all): nf_tables chains with policy drop, and a legacy FORWARD DROP when our rules
        are in nf_tables. Repair runs them again when they are needed (network/repair.py)."""
        from minicontainer.network.backends import NFT
        from minicontainer.network.legacy_forward import AcceptOnLegacyForward
        from minicontainer.network.nftables import AcceptOnNftablesForward
        steps: list[Step] = [AcceptOnNftablesForward(self.net.bridge, self.net.firewall_backend)]
        if self.net.firewall_backend == NFT:
            steps.append(AcceptOnLegacyForward(self.net.bridge))
        return steps

    def up_steps(self) -> list[Step]:
        """Its first use: bridge, sysctls, accepts in other rulesets, then the firewall rules."""
        from minicontainer.kernel.netlink import BridgeNetfilter, CreateBridge, Sysctl
        from minicontainer.network.fwsteps import ForwardPolicy, InstallRules
        net = self.net
        steps: list[Step] = [CreateBridge(net.bridge, f"{net.gateway}/{net.prefixlen}", mtu=net.mtu)]
        if not net.userland_proxy:
            steps.append(Sysctl(f"net.ipv4.conf.{net.bridge}.route_localnet", "1",
                                why="let 127.0.0.1-sourced packets (DNATed in OUTPUT) be routed onto the bridge"))
        if not net.icc or not net.userland_proxy:  # Docker's condition too: both need iptables on bridged frames
            steps.append(BridgeNetfilter(required=not net.icc))
        steps += self.accept_steps()
        steps.append(Sysctl("net.ipv4.ip_forward", "1", why="route between the bridge and the host's other interfaces"))
        base, hooks, own = self.rule_sets()
        steps.append(InstallRules(net.chain_prefix, net.firewall_backend, own, base=base, hooks=hooks))
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            if f.read().strip() == "0":
                steps.append(ForwardPolicy("DROP", net.firewall_backend))
        return steps

    def bring_up(self, steps: list[Step]) -> None:
        """Apply up_steps() unless the bridge exists by now (another start may have brought it up
        since they were planned); under the network's lock, so only one start does."""
        from minicontainer.kernel.netlink import link_exists
        if not steps or link_exists(self.net.bridge):
            return
        with locked(self.up_lock):
            if not link_exists(self.net.bridge):
                Plan(steps).apply()

    def take_down(self, users: list[str]) -> list[dict]:
        """Undo up_steps() in reverse; returns what each undid as trace-like lines (why, sh) for
        `network rm --explain`. Refused while containers use it."""
        if users:
            raise DaemonError(f"error while removing network: network {self.net.name} id {self.net.id} "
                              "has active endpoints", 1)
        done = []
        for step in reversed(self.up_steps()):
            step.undo()
            if step.explain_undo():
                done.append({"why": f"undo: {step.why}", "sh": step.explain_undo()})
        return done
