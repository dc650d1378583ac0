"""The port publisher's pure parts: which steps a -p becomes, and Docker's allocator check."""

from minicontainer.network import ports
from minicontainer.network.networks import Network
from minicontainer.specs.ports import PortBinding
from minicontainer.store.records import Endpoint, PublishedPort

OWNER = "/var/lib/minicontainer/containers/" + "c" * 64  # where a connect asks the container's supervisor


def _net(userland_proxy=True):
    return Network("bridge", "f" * 64, "mc0", "172.17.0.0/16", "172.17.0.1", "MC", userland_proxy)


def _ep():
    return Endpoint("bridge", "f" * 64, "mc0", "172.17.0.2", 16, "172.17.0.1", "02:42:ac:11:00:02",
                    "/run/netns/abc", "e" * 64, host_if="veth1234567")


def test_a_port_on_all_addresses_gets_a_proxy_per_family_and_ipv4_rules(monkeypatch):
    monkeypatch.setattr(ports, "ipv6_enabled", lambda: True)
    rules, holders = ports.publish_steps(_net(), _ep(), [PortBinding("tcp", 80, "", 8080)], OWNER)
    assert [type(s).__name__ for s in rules] == ["PublishRules"]
    assert [(type(h).__name__, h.host_ip, h.host_port) for h in holders] == \
        [("StartProxy", "0.0.0.0", 8080), ("StartProxy", "::", 8080)]
    assert {h.owner for h in holders} == {OWNER}
    assert (rules[0].host_ip, rules[0].container_ip, rules[0].container_port) == ("", "172.17.0.2", 80)


def test_without_a_proxy_the_port_is_held_and_ipv6_gets_nothing(monkeypatch):
    monkeypatch.setattr(ports, "ipv6_enabled", lambda: True)
    rules, holders = ports.publish_steps(_net(userland_proxy=False), _ep(), [PortBinding("udp", 53, "", 5353)], OWNER)
    assert [(type(h).__name__, h.host_ip) for h in holders] == [("HoldPort", "0.0.0.0")]
    assert rules[0].userland_proxy is False
    assert ports.published(holders) == [PublishedPort("udp", "0.0.0.0", 5353, 53, "172.17.0.2")]


def test_an_ipv6_host_address_is_served_by_the_proxy_alone():
    rules, holders = ports.publish_steps(_net(), _ep(), [PortBinding("tcp", 80, "::1", 8080)], OWNER)
    assert rules == [] and [h.host_ip for h in holders] == ["::1"]


def test_no_host_port_draws_one_from_the_kernel():
    rules, holders = ports.publish_steps(_net(), _ep(), [PortBinding("tcp", 80, "127.0.0.1", 0)], OWNER)
    assert 0 < holders[0].host_port == rules[0].host_port


def test_conflicts_follow_dockers_allocator():
    taken = [PublishedPort("tcp", "0.0.0.0", 8080, 80), PublishedPort("tcp", "127.0.0.1", 9090, 80)]
    assert ports.conflicts([PortBinding("tcp", 81, "", 8080)], taken) == PortBinding("tcp", 81, "", 8080)
    assert ports.conflicts([PortBinding("tcp", 81, "10.0.0.1", 8080)], taken)  # 0.0.0.0 covers every address
    assert ports.conflicts([PortBinding("udp", 81, "", 8080)], taken) is None  # another protocol
    assert ports.conflicts([PortBinding("tcp", 81, "127.0.0.2", 9090)], taken) is None  # another address
    assert ports.conflicts([PortBinding("tcp", 81, "", 0)], taken) is None  # a random port never clashes


def test_the_allocator_refusal_is_dockers_message():
    exc = ports.allocated_error("web", "a" * 64, PortBinding("tcp", 80, "", 8080))
    assert str(exc) == ("Error response from daemon: driver failed programming external connectivity on endpoint "
                        "web (aaaaaaaaaaaa): Bind for 0.0.0.0:8080 failed: port is already allocated")
    assert exc.exit_code == 125
