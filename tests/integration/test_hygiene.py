"""Host hygiene: we add only our own rules, never flush or reorder anyone else's, and when another
tool deletes our chains while containers run, the next command puts them back instead of failing
with "No chain/target/match by that name"."""

import random
import subprocess

from tests.integration.nethelp import HTTPD, curl


def _ipt(*args: str, check: bool = True) -> str:
    return subprocess.run(["iptables-legacy", "-w", *args], capture_output=True, text=True, check=check).stdout


def _save() -> str:
    return subprocess.run(["iptables-legacy-save"], capture_output=True, text=True, check=True).stdout


FOREIGN = [  # (table, chain) hooks another tool uses, each given two rules of its own
    ("nat", "PREROUTING"), ("nat", "OUTPUT"), ("nat", "POSTROUTING"), ("filter", "FORWARD"),
]


def _foreign_lines(save: str, mark: str) -> list[str]:
    return [line for line in save.splitlines() if mark in line]


def _delete_our_chains(prefix: str) -> None:
    """What a careless firewall script does to our chains: jumps to them deleted, then the chains."""
    for table in ("nat", "filter"):
        rules = _ipt("-t", table, "-S").splitlines()
        for rule in rules:
            if rule.startswith("-A ") and f"-j {prefix}" in rule and not rule.startswith(f"-A {prefix}"):
                _ipt("-t", table, "-D", *rule.split()[1:])
        chains = [r.split()[1] for r in rules if r.startswith("-N ") and r.split()[1].startswith(prefix)]
        for chain in chains:
            _ipt("-t", table, "-F", chain)
        for chain in chains:
            _ipt("-t", table, "-X", chain)
    assert prefix not in _save()


def test_others_rules_keep_their_place(br):
    tag = br.bridge[3:]
    mark = f"198.18.{random.randrange(1, 250)}."
    chain = f"MCF{tag}"
    _ipt("-t", "filter", "-N", chain)
    _ipt("-t", "filter", "-A", chain, "-s", f"{mark}9/32", "-j", "RETURN")
    try:
        for table, hook in FOREIGN:  # one rule at the head of the chain, one at its end
            _ipt("-t", table, "-I", hook, "1", "-s", f"{mark}1/32", "-j", "RETURN")
            _ipt("-t", table, "-A", hook, "-s", f"{mark}2/32", "-j", "RETURN")
        _ipt("-t", "filter", "-A", "FORWARD", "-s", f"{mark}3/32", "-j", chain)
        before = _foreign_lines(_save(), mark)
        port = random.randrange(20000, 60000)
        br.ok("run", "-d", "--name", "hyg", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="hyg"))
        assert curl(f"http://127.0.0.1:{port}/") == "hello-hyg\n"
        during = _save()
        assert _foreign_lines(during, mark) == before  # all there, same order, same chains
        assert f"-A {br.prefix}" in during
        br.ok("rm", "-f", "hyg")
        br.ok("network", "rm", "--predefined", "bridge")
        after = _save()
        assert _foreign_lines(after, mark) == before
        assert br.prefix not in after
    finally:
        for table, hook in FOREIGN:
            _ipt("-t", table, "-D", hook, "-s", f"{mark}1/32", "-j", "RETURN", check=False)
            _ipt("-t", table, "-D", hook, "-s", f"{mark}2/32", "-j", "RETURN", check=False)
        _ipt("-t", "filter", "-D", "FORWARD", "-s", f"{mark}3/32", "-j", chain, check=False)
        _ipt("-t", "filter", "-F", chain, check=False)
        _ipt("-t", "filter", "-X", chain, check=False)


def test_chains_deleted_behind_our_back_are_put_back(br, outside_client):
    netns, host_ip = outside_client
    first, second = random.sample(range(20000, 60000), 2)
    br.ok("run", "-d", "--name", "hyg1", "-p", f"{first}:80", "busybox", "sh", "-c", HTTPD.format(name="hyg1"))
    assert curl(f"http://{host_ip}:{first}/", netns=netns) == "hello-hyg1\n"
    rules = sorted(line for line in _save().splitlines() if br.prefix in line or br.bridge in line)
    _delete_our_chains(br.prefix)  # (the proxy on 0.0.0.0 would still answer: the rules are what is checked)
    # the next command (here a run with another published port) repairs first, then works
    proc = br("run", "-d", "--name", "hyg2", "-p", f"{second}:80", "busybox", "sh", "-c", HTTPD.format(name="hyg2"))
    assert proc.returncode == 0, proc.stderr
    assert "restored" in proc.stderr and "firewall rules" in proc.stderr
    assert curl(f"http://{host_ip}:{first}/", netns=netns) == "hello-hyg1\n"
    assert curl(f"http://{host_ip}:{second}/", netns=netns) == "hello-hyg2\n"
    br.ok("rm", "-f", "hyg2")
    assert sorted(line for line in _save().splitlines() if br.prefix in line or br.bridge in line) == rules
    # and once things are whole, a command says nothing about it
    assert br("ps").stderr == ""
