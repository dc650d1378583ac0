"""Our bridge accepted in nf_tables forward chains that are not ours. A packet crosses every base
chain on the forward hook, of every table and both backends: if one of them (an nftables.conf
`policy drop`, Docker 29's tables, Docker's iptables-nft FORWARD while our rules are legacy) drops
what it does not know, our containers' traffic dies there even though our rules accept it. So for
each such chain we insert two accepts for our bridge (in and out) and remove exactly those again.
Our own rules still do the real filtering.

Where our rules are in nf_tables themselves (the nft backend), `ip filter FORWARD` is the chain
they are in, and is left alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from minicontainer.network.backends import LEGACY, NFT
from minicontainer.plan import Step, state

FAMILIES = ("ip", "inet")  # the families whose forward hook sees IPv4 packets
DIRECTIONS = ("oifname", "iifname")
OURS_ON_NFT = ("ip", "filter", "FORWARD")  # where iptables-nft puts our FORWARD rules


def _nft(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["nft", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise OSError(f"nft {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class ForwardChain:
    family: str
    table: str
    name: str
    policy: str
    rules: list[dict]  # nft's JSON rules, with their handles

    def our_accepts(self, bridge: str) -> list[dict]:
        return [r for r in self.rules if _is_our_accept(r, bridge)]

    def missing(self, bridge: str) -> list[str]:
        """The directions of our bridge this chain does not accept yet."""
        have = {r["expr"][0]["match"]["left"]["meta"]["key"] for r in self.our_accepts(bridge)}
        return [d for d in DIRECTIONS if d not in have]


def ruleset() -> list[dict]:
    """The whole nf_tables ruleset as nft's JSON items ([] where there is no nft)."""
    if not shutil.which("nft"):
        return []
    return json.loads(_nft("-j", "list", "ruleset") or '{"nftables": []}')["nftables"]


def forward_chains(backend: str, items: list[dict] | None = None) -> list[ForwardChain]:
    """The nf_tables base chains on the forward hook, other than the one our rules are in; items:
    a ruleset() already read."""
    chains: dict[tuple[str, str, str], ForwardChain] = {}
    for item in ruleset() if items is None else items:
        if "chain" in item:
            c = item["chain"]
            key = (c["family"], c["table"], c["name"])
            if c.get("hook") == "forward" and c["family"] in FAMILIES and not (backend == NFT and key == OURS_ON_NFT):
                chains[key] = ForwardChain(*key, c.get("policy", "accept"), [])
        elif "rule" in item:
            r = item["rule"]
            chain = chains.get((r["family"], r["table"], r["chain"]))
            if chain is not None:
                chain.rules.append(r)
    return list(chains.values())


def _is_our_accept(rule: dict, bridge: str) -> bool:
    """`iifname "BR" accept` or `oifname "BR" accept`, nothing else (iptables-nft shows them as -i/-o BR -j ACCEPT)."""
    expr = rule.get("expr", [])
    if len(expr) != 2 or "accept" not in expr[1]:
        return False
    match = expr[0].get("match", {})
    key = match.get("left", {}).get("meta", {}).get("key")
    return match.get("op") == "==" and key in DIRECTIONS and match.get("right") == bridge


def _insert(chain: ForwardChain, direction: str, bridge: str) -> str:
    args = ["insert", "rule", chain.family, chain.table, chain.name, direction, bridge, "accept"]
    _nft(*args)
    return "nft " + " ".join(args)


def _delete_by_match(chain: ForwardChain, direction: str, bridge: str) -> str:
    """The shell command that deletes our accept wherever it now is: nft deletes a rule by its
    handle only, and a replayed script's rules get handles of their own."""
    where = f"{chain.family} {chain.table} {chain.name}"
    return (f"nft -a list chain {where} | awk '/{direction} \"{bridge}\" accept # handle/ {{print $NF}}'"
            f" | xargs -r -n1 nft delete rule {where} handle")


@dataclass
class AcceptOnNftablesForward(Step):
    """Accepts for our bridge in every nf_tables forward chain whose policy is drop."""

    bridge: str
    backend: str = LEGACY
    done: list[str] | None = state()  # the nft commands do() ran
    undone: list[str] = state(())     # the nft commands undo() ran
    why = "an nf_tables forward chain with policy drop would drop our containers' traffic: accept our bridge there"

    def _wanted(self, view=None) -> list[tuple[ForwardChain, str]]:
        chains = view.nft_chains(self.backend) if view is not None else forward_chains(self.backend)
        return [(c, d) for c in chains if c.policy == "drop" for d in c.missing(self.bridge)]

    def needed(self, view=None) -> bool:
        """A dropping chain lacks our accepts (one appeared since, or someone flushed it); view: a
        network/forward_view.py ForwardView to read from instead of the kernel."""
        return bool(self._wanted(view))

    def do(self) -> None:
        self.done = [_insert(chain, direction, self.bridge) for chain, direction in self._wanted()]

    def undo(self) -> None:
        done = []
        for chain in forward_chains(self.backend):  # every forward chain: its policy may have changed since
            for rule in chain.our_accepts(self.bridge):
                args = ["delete", "rule", chain.family, chain.table, chain.name, "handle", str(rule["handle"])]
                _nft(*args, check=False)
                done.append(_delete_by_match(chain, rule["expr"][0]["match"]["left"]["meta"]["key"], self.bridge))
        self.undone = done

    def explain(self) -> str:
        if self.done is not None:
            return "\n".join(self.done) or "# (no command: no nf_tables forward chain drops our bridge's traffic)"
        wanted = self._wanted()
        if not wanted:
            return "# (no command: no nf_tables forward chain drops our bridge's traffic)"
        return "\n".join(f"nft insert rule {c.family} {c.table} {c.name} {d} {self.bridge} accept" for c, d in wanted)

    def explain_undo(self) -> str:
        return "\n".join(self.undone)
