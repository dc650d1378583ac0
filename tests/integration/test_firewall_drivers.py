"""The firewall drivers against the real kernel, in a network namespace of the test's own (its
tables are its own: nothing of the host's is read or changed). The iptables-restore driver is
what writes to nf_tables on the host; here it runs on both backends."""

import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from minicontainer.network.backends import BACKENDS
from minicontainer.network.firewall import firewall_for
from minicontainer.network.restore_firewall import parse_save
from minicontainer.network.rules import FILTER, NAT, BuiltinOnly, Chains, Rule, base_rules, hook_rules, network_rules, port_rules


@pytest.fixture
def netns():
    name = f"mcfw{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def _save(netns: str, backend: str) -> dict:
    out = subprocess.run(["nsenter", f"--net={netns}", f"iptables-{backend}-save"], capture_output=True, text=True,
                         check=True).stdout
    return parse_save(out)


def _network(c: Chains) -> list[Rule]:
    return (base_rules(c) + hook_rules(c) + network_rules(c, "mct0", "10.77.0.0/16")
            + port_rules(c, "mct0", "tcp", "", 8080, "10.77.0.2", 80))


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_is_idempotent_and_keeps_positions_and_the_admins_rules(netns, backend):
    c = Chains("MCT")
    fw = firewall_for(backend, c, netns)
    done = fw.add(_network(c))
    assert done[0].endswith(f"-t {FILTER} -N MCT")  # filter first: no DNAT before its ACCEPT
    assert next(i for i, d in enumerate(done) if "-j DNAT" in d) > max(i for i, d in enumerate(done) if "-t filter" in d)
    tables = _save(netns, backend)
    assert tables[FILTER].chains["FORWARD"][:2] == ["-A FORWARD -j MCT-USER", "-A FORWARD -j MCT-ISOLATION-STAGE-1"]
    assert "-A MCT ! -i mct0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.77.0.2:80" in tables[NAT].chains["MCT"]
    # an admin's rule in MCT-USER survives a second add (a declared chain would be flushed)
    subprocess.run(["nsenter", f"--net={netns}", f"iptables-{backend}", "-w", "-I", "MCT-USER", "-s", "192.0.2.9",
                    "-j", "DROP"], check=True)
    assert fw.add(_network(c)) == []  # everything is there: nothing done, nothing said
    assert _save(netns, backend)[FILTER].chains["MCT-USER"] == ["-A MCT-USER -s 192.0.2.9/32 -j DROP",
                                                                "-A MCT-USER -j RETURN"]
    assert fw.in_use()
    # a dry run says what it would do and does nothing
    fw.remove(port_rules(c, "mct0", "tcp", "", 8080, "10.77.0.2", 80))
    before = _save(netns, backend)
    planned = fw.add(port_rules(c, "mct0", "tcp", "", 8080, "10.77.0.2", 80), commit=False)
    assert len(planned) == 3 and _save(netns, backend) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_remove_takes_exactly_ours_then_the_chains_go(netns, backend):
    c = Chains("MCT")
    fw = firewall_for(backend, c, netns)
    shared, own = base_rules(c) + hook_rules(c), network_rules(c, "mct0", "10.77.0.0/16")
    fw.add(shared + own)
    subprocess.run(["nsenter", f"--net={netns}", f"iptables-{backend}", "-w", "-A", "FORWARD", "-s", "192.0.2.1",
                    "-j", "ACCEPT"], check=True)
    removed = fw.remove(list(reversed(own)))
    assert removed and all(" -D " in r for r in removed)
    assert fw.remove(list(reversed(own))) == []  # not there any more: nothing to delete, no error
    assert not fw.in_use()
    fw.remove(hook_rules(c))
    fw.remove_chains()
    tables = _save(netns, backend)
    assert tables[FILTER].chains["FORWARD"] == ["-A FORWARD -s 192.0.2.1/32 -j ACCEPT"]  # someone else's stays
    assert not [name for t in tables.values() for name in t.chains if name.startswith("MCT")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_removals_from_many_threads_at_once_each_take_their_own(netns, backend):
    """rm of many containers: their threads' removals share commits (groupcommit), and each thread
    still gets back the -D commands of its own rules only."""
    c = Chains("MCT")
    fw = firewall_for(backend, c, netns)
    ports = {port: port_rules(c, "mct0", "tcp", "", port, f"10.77.0.{port - 8000}", 80) for port in range(8010, 8026)}
    fw.add(base_rules(c) + [r for rules in ports.values() for r in rules])
    barrier = threading.Barrier(len(ports))

    def remove(port: int) -> list[str]:
        barrier.wait()
        return firewall_for(backend, c, netns).remove(list(reversed(ports[port])))

    with ThreadPoolExecutor(len(ports)) as pool:
        said = dict(zip(ports, pool.map(remove, ports), strict=True))
    for port, commands in said.items():
        assert len(commands) == len(ports[port]) and all(" -D " in cmd for cmd in commands)
        ip = f"10.77.0.{port - 8000}"
        assert all(f"{ip}/32 " in cmd or f"{ip}:80" in cmd for cmd in commands), commands
    tables = _save(netns, backend)
    assert not [line for t in tables.values() for lines in t.chains.values() for line in lines if "10.77.0." in line]
    assert tables[FILTER].chains["MCT-USER"] == ["-A MCT-USER -j RETURN"]  # what they shared stays


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_table_that_fails_undoes_the_one_that_committed(netns, backend):
    """iptables-restore commits table by table: when nat fails, filter's part is taken back."""
    c = Chains("MCT")
    fw = firewall_for(backend, c, netns)
    bad = Rule(NAT, "OUTPUT", "SNAT", target_opts=(("to-source", "10.77.0.1"),))  # SNAT belongs in POSTROUTING
    accept = Rule(FILTER, "FORWARD", "ACCEPT", in_iface="mct0")
    with pytest.raises(OSError, match=f"iptables-{backend}-restore"):
        fw.add([accept, bad])
    tables = _save(netns, backend)
    assert accept.save_line() not in tables[FILTER].chains.get("FORWARD", [])
    assert not [name for t in tables.values() for name in t.chains if name.startswith("MCT")]  # nor its chains


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_policy(netns, backend):
    fw = firewall_for(backend, BuiltinOnly(), netns)
    fw.add([Rule(FILTER, "FORWARD", "ACCEPT", in_iface="mct0")])
    assert fw.set_forward_policy("DROP") == [f"{fw.ipt} --wait -t filter -P FORWARD DROP"]
    tables = _save(netns, backend)
    assert tables[FILTER].policies["FORWARD"] == "DROP"
    assert tables[FILTER].chains["FORWARD"] == ["-A FORWARD -i mct0 -j ACCEPT"]  # the policy line kept the rules
