"""Address leases (network/ipam.py): one file per address, held by a living process; a dead
holder's lease is free again; a lease handed over lives as long as its new holder."""

import os
import subprocess

import pytest

from minicontainer.errors import DaemonError
from minicontainer.kernel import proc
from minicontainer.network.ipam import HostLocalIPAM


@pytest.fixture
def ipam(tmp_path):
    return HostLocalIPAM(str(tmp_path / "leases"), "10.9.0.0/24", "10.9.0.1")


@pytest.fixture
def holder():
    """A process of ours to hold leases: (pid, start ticks), and a way to end it."""
    child = subprocess.Popen(["sleep", "60"])
    yield (child.pid, proc.start_ticks(child.pid)), child
    child.kill()
    child.wait()


def test_first_free_address_from_two_and_never_the_gateway(ipam):
    assert [ipam.allocate("c1"), ipam.allocate("c2")] == ["10.9.0.2", "10.9.0.3"]
    ipam.release("10.9.0.2", "c1")
    assert ipam.next_free() == "10.9.0.2" and ipam.allocate("c3") == "10.9.0.2"  # freed ones are reused
    with pytest.raises(DaemonError, match="Address already in use"):
        ipam.allocate("c4", "10.9.0.3")


def test_release_by_another_owner_keeps_the_lease(ipam):
    ip = ipam.allocate("c1")
    ipam.release(ip, "c2")
    assert ipam.next_free() != ip


def test_a_dead_holders_lease_is_free_again(ipam, holder):
    (pid, start), child = holder
    ip = ipam.allocate("c1", holder=(pid, start))
    assert ipam.next_free() != ip
    child.kill()
    child.wait()
    ipam.reclaim_dead()  # what every command's recover() does
    assert not os.path.exists(os.path.join(ipam.dir, ip))
    assert ipam.next_free() == ip and ipam.allocate("c2") == ip


def test_a_full_pool_takes_a_dead_holders_address(tmp_path, holder):
    """Without a reclaim in between, addresses with no lease go first; once none is left, the
    leases are read and a dead holder's address is taken."""
    (pid, start), child = holder
    ipam = HostLocalIPAM(str(tmp_path / "leases"), "10.9.0.0/29", "10.9.0.1")  # .2 to .6
    dead = ipam.allocate("c1", holder=(pid, start))
    held = [ipam.allocate(f"c{n}") for n in range(2, 5)]
    assert [dead, *held] == ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5"]
    child.kill()
    child.wait()
    assert ipam.allocate("c5") == "10.9.0.6"  # no lease file: taken without reading the others
    assert ipam.next_free() == dead and ipam.allocate("c6") == dead  # the pool is full but for the dead one
    with open(os.path.join(ipam.dir, dead)) as f:
        assert f.read().split()[0] == "c6"
    with pytest.raises(DaemonError, match="no available IPv4 addresses"):
        ipam.allocate("c7")


def test_hand_over_moves_the_lease_to_its_new_holder(ipam, holder):
    (pid, start), child = holder
    first = subprocess.Popen(["sleep", "60"])  # the connect command, say
    ip = ipam.allocate("c1", holder=(first.pid, proc.start_ticks(first.pid)))
    ipam.hand_over(ip, "c1", (pid, start))
    first.kill()
    first.wait()
    assert ipam.next_free() != ip  # the supervisor holds it now
    with open(os.path.join(ipam.dir, ip)) as f:
        assert f.read() == f"c1 {pid} {start}\n"
    with pytest.raises(DaemonError, match="not c2's"):
        ipam.hand_over(ip, "c2", (pid, start))


def test_ip_range_hands_out_only_its_addresses(tmp_path):
    ipam = HostLocalIPAM(str(tmp_path), "10.9.0.0/24", "10.9.0.1", ip_range="10.9.0.128/25")
    assert ipam.allocate("c1") == "10.9.0.128"
    assert ipam.allocate("c2", "10.9.0.5") == "10.9.0.5"  # a static address may be outside the range
