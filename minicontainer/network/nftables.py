"""The nf_tables side of forwarding. python-iptables writes the legacy x_tables backend, but a packet
crosses every backend's hooks: if an nf_tables forward chain (Docker's iptables-nft FORWARD, or an
nftables.conf `policy drop`) drops what it does not know, our containers' traffic dies there even
though our legacy rules accept it. So for each such chain we insert two accepts for our bridge
(in and out) and remove exactly those again. Our legacy rules still do the real filtering.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass

from minicontainer.plan import Step, state

FAMILIES = ("ip", "inet")  # the families whose forward hook sees IPv4 packets


def _nft(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["nft", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise OSError(f"nft {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def forward_chains(dropping_only: bool = True) -> list[tuple[str, str, str]]:
    """(family, table, chain) of the nf_tables base chains on the forward hook (with policy drop)."""
    if not shutil.which("nft"):
        return []
    found = []
    for item in json.loads(_nft("-j", "list", "chains") or '{"nftables": []}')["nftables"]:
        chain = item.get("chain")
        if not chain or chain.get("hook") != "forward" or chain["family"] not in FAMILIES:
            continue
        if chain.get("policy") == "drop" or not dropping_only:
            found.append((chain["family"], chain["table"], chain["name"]))
    return found


def _is_our_accept(rule: dict, bridge: str) -> bool:
    """`iifname "BR" accept` or `oifname "BR" accept`, nothing else (iptables-nft shows them as -i/-o BR -j ACCEPT)."""
    expr = rule.get("expr", [])
    if len(expr) != 2 or "accept" not in expr[1]:
        return False
    match = expr[0].get("match", {})
    key = match.get("left", {}).get("meta", {}).get("key")
    return match.get("op") == "==" and key in ("iifname", "oifname") and match.get("right") == bridge


@dataclass
class AcceptOnNftablesForward(Step):
    """Accepts for our bridge in every nf_tables forward chain whose policy is drop."""

    bridge: str
    chains: list[tuple[str, str, str]] | None = state()  # the dropping forward chains do() found
    undone: list[str] = state(())  # the nft commands undo() ran
    why = "an nf_tables forward chain with policy drop would drop our containers' traffic: accept our bridge there"

    def do(self) -> None:
        self.chains = forward_chains()
        for family, table, chain in self.chains:
            for direction in ("oifname", "iifname"):
                _nft("insert", "rule", family, table, chain, direction, self.bridge, "accept")

    def undo(self) -> None:
        done = []
        for family, table, chain in forward_chains(dropping_only=False):  # the policy may have changed since
            listing = json.loads(_nft("-j", "-a", "list", "chain", family, table, chain))["nftables"]
            for item in listing:
                rule = item.get("rule")
                if rule and _is_our_accept(rule, self.bridge):
                    args = ["delete", "rule", family, table, chain, "handle", str(rule["handle"])]
                    _nft(*args, check=False)
                    done.append("nft " + " ".join(args))
        self.undone = done

    def explain(self) -> str:
        chains = self.chains
        if chains is None:
            chains = forward_chains()
        if not chains:
            return "# (no command: no nf_tables forward chain has policy drop)"
        return "\n".join(f"nft insert rule {f} {t} {c} {d} {self.bridge} accept"
                         for f, t, c in chains for d in ("oifname", "iifname"))

    def explain_undo(self) -> str:
        return "\n".join(self.undone)
