"""Which backend our rules go to, chosen as Docker chooses (the host's `iptables`), kept per network,
and what a user then sees: `iptables -t nat -S` shows our DNAT next to Docker's; the other backend's
FORWARD and other tools' nf_tables tables are passed, never changed."""

import json
import os
import random
import subprocess
import uuid

import pytest

from minicontainer.network.backends import LEGACY, NFT, host_backend
from tests.integration.nethelp import HTTPD, curl


def _record(mc, name: str = "bridge") -> dict:
    with open(os.path.join(mc.root, "networks", name, "network.json")) as f:
        return json.load(f)


def _legacy_forward() -> tuple[str, list[str]]:
    from minicontainer.network.legacy_forward import legacy_forward
    return legacy_forward()


def test_rules_are_where_the_hosts_iptables_looks(mc):
    """No backend asked for: the host's, the one a Docker here would write to with `iptables`."""
    del mc.env["MINICONTAINER_IPTABLES_BACKEND"]
    port = random.randrange(20000, 30000)
    mc.ok("run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="web"))
    assert _record(mc)["firewall_backend"] == host_backend()
    ip = mc.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").strip()
    nat = subprocess.run(["iptables", "-w", "-t", "nat", "-S"], capture_output=True, text=True, check=True).stdout
    assert f"-A {mc.prefix} ! -i {mc.bridge} -p tcp -m tcp --dport {port} -j DNAT --to-destination {ip}:80" in nat
    other = {NFT: LEGACY, LEGACY: NFT}[host_backend()]
    theirs = subprocess.run([f"iptables-{other}-save"], capture_output=True, text=True).stdout
    assert mc.prefix not in theirs  # none of our chains or jumps in the other backend
    assert curl(f"http://127.0.0.1:{port}/") == "hello-web\n"
    explained = mc.ok("explain", "web")
    assert f"\niptables --wait -t nat -A {mc.prefix} ! -i {mc.bridge} -p tcp" in explained  # as the user types it
    mc.ok("rm", "-f", "web")


def test_switching_backends_while_networks_exist_is_refused(mc):
    mc.ok("run", "--rm", "busybox", "true")  # the default network now has its rules in mc.backend
    other = {NFT: LEGACY, LEGACY: NFT}[mc.backend]
    before = mc.save()
    out = mc("--iptables-backend", other, "run", "--rm", "busybox", "true")
    assert out.returncode == 125
    assert out.stderr.strip() == (f"minicontainer: Error response from daemon: network bridge has its rules in the "
                                  f"{mc.backend} iptables backend: remove it (network rm bridge) to switch to {other}")
    out = mc("--iptables-backend", other, "network", "create", "lab")
    assert out.returncode == 125 and f"networks bridge have their rules in the {mc.backend} iptables backend" in out.stderr
    assert "lab" not in mc.ok("network", "ls") and mc.save().count("\n-A") == before.count("\n-A")
    # the same flag that agrees is fine; a bad one says what is wrong
    assert mc("--iptables-backend", mc.backend, "run", "--rm", "busybox", "true").returncode == 0
    out = mc("--iptables-backend", "nftables", "ps")
    assert out.returncode == 125 and 'invalid argument "nftables" for "--iptables-backend" flag' in out.stderr
    # once the network is gone, the other backend may be chosen
    mc.ok("network", "rm", "--predefined", "bridge")
    assert mc("--iptables-backend", other, "run", "--rm", "busybox", "true").returncode == 0
    assert _record(mc)["firewall_backend"] == other
    # removing takes the rules from where they are, whatever backend this command line asks for
    mc.ok("--iptables-backend", mc.backend, "network", "rm", "--predefined", "bridge")
    theirs = subprocess.run([f"iptables-{other}-save"], capture_output=True, text=True).stdout
    assert mc.prefix not in theirs


@pytest.fixture
def legacy_forward_drop():
    """The legacy FORWARD policy DROP (an older Docker's, or a firewall script's), put back after."""
    policy, _ = _legacy_forward()
    subprocess.run(["iptables-legacy", "-w", "-P", "FORWARD", "DROP"], check=True)
    yield
    subprocess.run(["iptables-legacy", "-w", "-P", "FORWARD", policy], check=True)


@pytest.mark.parametrize("backend", [NFT])
def test_a_legacy_forward_drop_is_passed_and_rechecked(br, outside_client, legacy_forward_drop):
    ns, host_side = outside_client
    port = random.randrange(30000, 40000)
    br.ok("run", "-d", "--name", "fw", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="fw"))
    accepts = [f"-A FORWARD -i {br.bridge} -j ACCEPT", f"-A FORWARD -o {br.bridge} -j ACCEPT"]
    assert all(a in _legacy_forward()[1] for a in accepts)
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-fw\n"  # forwarded through both rulesets
    for a in accepts:  # someone flushes them: the legacy DROP really is in the path
        subprocess.run(["iptables-legacy", "-w", "-D", *a.split()[1:]], check=True)
    assert curl(f"http://{host_side}:{port}/", netns=ns, timeout=2) == ""
    assert "restored 2 firewall rules" in br("ps").stderr  # the next command puts them back
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-fw\n"
    br.ok("rm", "-f", "fw")
    br.ok("network", "rm", "--predefined", "bridge")
    assert not [r for r in _legacy_forward()[1] if br.bridge in r]


def _nft(*args: str) -> str:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def other_table():
    """Another tool's own nf_tables table: a forward chain (policy accept) and a rule."""
    name = f"mcother{uuid.uuid4().hex[:6]}"
    _nft("add", "table", "inet", name)
    try:
        _nft("add", "chain", "inet", name, "fw", "{ type filter hook forward priority 10; policy accept; }")
        _nft("add", "rule", "inet", name, "fw", "ip", "saddr", "198.18.7.7", "counter", "drop")
        yield name
    finally:
        subprocess.run(["nft", "delete", "table", "inet", name], capture_output=True)


@pytest.mark.parametrize("backend", [NFT, LEGACY])
def test_other_tools_tables_are_untouched_and_a_drop_added_later_is_passed(mc, other_table, outside_client):
    ns, host_side = outside_client
    before = _nft("list", "table", "inet", other_table)
    port = random.randrange(40000, 45000)
    mc.ok("run", "-d", "--name", "ot", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="ot"))
    assert _nft("list", "table", "inet", other_table) == before
    # the tool turns its chain's policy to drop after our bridge exists (a Docker 29 started after us)
    _nft("add", "chain", "inet", other_table, "fw", "{ type filter hook forward priority 10; policy drop; }")
    assert curl(f"http://{host_side}:{port}/", netns=ns, timeout=2) == ""
    assert "restored 2 firewall rules" in mc("ps").stderr  # the next command notices, accepts our bridge there
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-ot\n"
    mc.ok("rm", "-f", "ot")
    mc.ok("network", "rm", "--predefined", "bridge")
    after = _nft("list", "table", "inet", other_table)
    assert mc.bridge not in after and after == before.replace("policy accept;", "policy drop;")


@pytest.mark.parametrize("backend", [NFT, LEGACY])
def test_an_unchanged_firewall_is_not_read_again(br, monkeypatch):
    """After a full check found every rule there, commands skip the full read until the firewall's
    stamp changes (any table of any tool's: here one of our own, made and deleted)."""
    from minicontainer.network import repair
    from minicontainer.store.containers import ContainerStore
    from minicontainer.store.root import StateRoot
    br.ok("run", "-d", "--name", "st", "-p", "80", "busybox", "sleep", "60")
    br.ok("ps")  # a full check that finds everything right keeps the stamp
    reads = []
    full_read = repair.rules_in_kernel
    monkeypatch.setattr(repair, "rules_in_kernel", lambda backend: reads.append(backend) or full_read(backend))
    root = StateRoot(br.root)
    assert repair.repair(root, ContainerStore(root)) == [] and reads == []
    table = f"mcstamp{os.getpid()}"
    subprocess.run(["nft", "add", "table", "ip", table], check=True)
    subprocess.run(["nft", "delete", "table", "ip", table], check=True)
    assert repair.repair(root, ContainerStore(root)) == [] and reads == [br.backend]
    br.ok("rm", "-f", "st")
    br.ok("network", "rm", "--predefined", "bridge")


@pytest.mark.parametrize("backend", [NFT, LEGACY])
def test_our_own_changes_keep_the_check_good_and_a_foreign_one_does_not(br, monkeypatch):
    """A start (its rules added under our lock) does not make the next command read every table in
    full, which would grow with the containers; the same change made by someone else does."""
    from minicontainer.network import repair
    from minicontainer.store.containers import ContainerStore
    from minicontainer.store.root import StateRoot
    br.ok("run", "-d", "--name", "one", "-p", "80", "busybox", "sleep", "60")
    br.ok("ps")  # the full check: everything there, its stamp saved
    br.ok("run", "-d", "--name", "two", "-p", "80", "busybox", "sleep", "60")  # ours: DNAT, ACCEPT, MASQUERADE
    reads = []
    full_read = repair.rules_in_kernel
    monkeypatch.setattr(repair, "rules_in_kernel", lambda backend: reads.append(backend) or full_read(backend))
    root = StateRoot(br.root)
    assert repair.repair(root, ContainerStore(root)) == [] and reads == []
    rule = ["-t", "filter", "-I", "INPUT", "-s", "192.0.2.77/32", "-j", "ACCEPT"]  # another tool's
    br.iptables(*rule, check=True)
    try:
        assert repair.repair(root, ContainerStore(root)) == [] and reads == [br.backend]
    finally:
        br.iptables(*["-D" if a == "-I" else a for a in rule], check=True)
    br.ok("rm", "-f", "one", "two")
    br.ok("network", "rm", "--predefined", "bridge")
