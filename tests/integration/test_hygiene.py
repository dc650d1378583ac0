"""Host hygiene: we add only our own rules, never flush or reorder anyone else's, and when another
tool deletes our chains while containers run, the next command puts them back instead of failing
with "No chain/target/match by that name"."""

import random

import pytest

from minicontainer.network.backends import BACKENDS
from tests.integration.nethelp import HTTPD, curl

# Each test runs with our rules in nf_tables (through iptables-nft) and in the legacy tables.
pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def _ipt(fw, *args: str, check: bool = True) -> str:
    """Another tool's iptables command, on the backend our rules are in (fw: the test's runner)."""
    return fw.iptables(*args, check=check).stdout


FOREIGN = [  # (table, chain) hooks another tool uses, each given two rules of its own
    ("nat", "PREROUTING"), ("nat", "OUTPUT"), ("nat", "POSTROUTING"), ("filter", "FORWARD"),
]


def _foreign_lines(save: str, mark: str) -> list[str]:
    return [line for line in save.splitlines() if mark in line]


def _delete_our_chains(br) -> None:
    """What a careless firewall script does to our chains: jumps to them deleted, then the chains."""
    prefix = br.prefix
    for table in ("nat", "filter"):
        rules = _ipt(br, "-t", table, "-S").splitlines()
        for rule in rules:
            if rule.startswith("-A ") and f"-j {prefix}" in rule and not rule.startswith(f"-A {prefix}"):
                _ipt(br, "-t", table, "-D", *rule.split()[1:])
        chains = [r.split()[1] for r in rules if r.startswith("-N ") and r.split()[1].startswith(prefix)]
        for chain in chains:
            _ipt(br, "-t", table, "-F", chain)
        for chain in chains:
            _ipt(br, "-t", table, "-X", chain)
    assert prefix not in br.save()


def test_others_rules_keep_their_place(br):
    tag = br.bridge[3:]
    mark = f"198.18.{random.randrange(1, 250)}."
    chain = f"MCF{tag}"
    _ipt(br, "-t", "filter", "-N", chain)
    _ipt(br, "-t", "filter", "-A", chain, "-s", f"{mark}9/32", "-j", "RETURN")
    try:
        for table, hook in FOREIGN:  # one rule at the head of the chain, one at its end
            _ipt(br, "-t", table, "-I", hook, "1", "-s", f"{mark}1/32", "-j", "RETURN")
            _ipt(br, "-t", table, "-A", hook, "-s", f"{mark}2/32", "-j", "RETURN")
        _ipt(br, "-t", "filter", "-A", "FORWARD", "-s", f"{mark}3/32", "-j", chain)
        before = _foreign_lines(br.save(), mark)
        port = random.randrange(20000, 60000)
        br.ok("run", "-d", "--name", "hyg", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="hyg"))
        assert curl(f"http://127.0.0.1:{port}/") == "hello-hyg\n"
        during = br.save()
        assert _foreign_lines(during, mark) == before  # all there, same order, same chains
        assert f"-A {br.prefix}" in during
        br.ok("rm", "-f", "hyg")
        br.ok("network", "rm", "--predefined", "bridge")
        after = br.save()
        assert _foreign_lines(after, mark) == before
        assert br.prefix not in after
    finally:
        for table, hook in FOREIGN:
            _ipt(br, "-t", table, "-D", hook, "-s", f"{mark}1/32", "-j", "RETURN", check=False)
            _ipt(br, "-t", table, "-D", hook, "-s", f"{mark}2/32", "-j", "RETURN", check=False)
        _ipt(br, "-t", "filter", "-D", "FORWARD", "-s", f"{mark}3/32", "-j", chain, check=False)
        _ipt(br, "-t", "filter", "-F", chain, check=False)
        _ipt(br, "-t", "filter", "-X", chain, check=False)


def test_chains_deleted_behind_our_back_are_put_back(br, outside_client):
    netns, host_ip = outside_client
    first, second = random.sample(range(20000, 60000), 2)
    br.ok("run", "-d", "--name", "hyg1", "-p", f"{first}:80", "busybox", "sh", "-c", HTTPD.format(name="hyg1"))
    assert curl(f"http://{host_ip}:{first}/", netns=netns) == "hello-hyg1\n"
    rules = sorted(line for line in br.save().splitlines() if br.prefix in line or br.bridge in line)
    _delete_our_chains(br)  # (the proxy on 0.0.0.0 would still answer: the rules are what is checked)
    # the next command (here a run with another published port) repairs first, then works
    proc = br("run", "-d", "--name", "hyg2", "-p", f"{second}:80", "busybox", "sh", "-c", HTTPD.format(name="hyg2"))
    assert proc.returncode == 0, proc.stderr
    assert "restored" in proc.stderr and "firewall rules" in proc.stderr
    assert curl(f"http://{host_ip}:{first}/", netns=netns) == "hello-hyg1\n"
    assert curl(f"http://{host_ip}:{second}/", netns=netns) == "hello-hyg2\n"
    br.ok("rm", "-f", "hyg2")
    assert sorted(line for line in br.save().splitlines() if br.prefix in line or br.bridge in line) == rules
    # and once things are whole, a command says nothing about it
    assert br("ps").stderr == ""
