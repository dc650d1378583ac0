"""The embedded DNS server's pure parts: the wire codec, the names a container resolves (from a
state root laid out by hand), and Docker's resolv.conf transformations."""

import os
import socket
import struct

from minicontainer.kernel import proc
from minicontainer.network import dnswire as wire
from minicontainer.network import resolvconf
from minicontainer.network.names import NameBook
from minicontainer.store.containers import ContainerRecord
from minicontainer.store.records import Endpoint


def _query(name: str, qtype: int = wire.A, qid: int = 0x1234, opt_size: int = 0) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    head = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if opt_size else 0)
    opt = b"\0" + struct.pack("!HHIH", 41, opt_size, 0, 0) if opt_size else b""
    return head + labels + struct.pack("!HH", qtype, 1) + opt


def test_a_query_parsed_and_answered():
    data = _query("Web.Lab.")
    q = wire.parse_query(data)
    assert (q.id, q.name, q.qtype, q.qclass) == (0x1234, "web.lab", wire.A, 1)
    reply = wire.reply(data, q, wire.A, [wire.a_record("10.0.0.2"), wire.a_record("10.0.0.3")])
    qid, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", reply)
    assert (qid, flags & 0x8000, flags & 0x0100, flags & 0x0080, flags & 0x000F) == (0x1234, 0x8000, 0x0100, 0x0080, 0)
    assert (qd, an, ns, ar) == (1, 2, 0, 0)
    assert reply[12:q.end] == data[12:q.end]  # the question, copied
    assert socket.inet_ntoa(reply[-4:]) == "10.0.0.3" and struct.unpack_from("!HHHIH", reply, q.end)[:4] == \
        (0xC00C, wire.A, 1, wire.TTL)


def test_what_is_not_a_standard_query_is_left_to_forward():
    data = bytearray(_query("web"))
    data[2] |= 0x80  # a response, not a query
    assert wire.parse_query(bytes(data)) is None
    assert wire.parse_query(b"\x00\x01") is None
    looped = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    assert wire.parse_query(looped) is None  # a pointer to itself


def test_a_reply_too_large_for_udp_is_truncated_unless_edns_allows_it():
    data = _query("many")
    q = wire.parse_query(data)
    big = wire.reply(data, q, wire.A, [wire.a_record(f"10.0.{n // 250}.{n % 250}") for n in range(40)])
    assert struct.unpack_from("!H", big, 2)[0] & 0x0200 and struct.unpack_from("!H", big, 6)[0] == 0
    edns = _query("many", opt_size=4096)
    limit = wire.udp_limit(edns, wire.parse_query(edns))
    assert limit == 4096 and wire.udp_limit(data, q) == 512


def test_reverse_names():
    assert wire.reverse_ipv4("3.0.17.172.in-addr.arpa") == "172.17.0.3"
    assert wire.reverse_ipv4("17.172.in-addr.arpa") is None and wire.reverse_ipv4("web.lab") is None
    assert wire.encode_name("web.lab") == b"\x03web\x03lab\x00"


def _container(root, cid, name, endpoints, hostname=""):
    rec = ContainerRecord(id=cid, name=name, created="", image_id="i", image_ref="busybox",
                          config={"Hostname": hostname or cid[:12]}, host_config={}, status="running", endpoints=endpoints)
    os.makedirs(os.path.join(root, "containers", cid))
    with open(os.path.join(root, "containers", cid, "container.json"), "w") as f:
        f.write(rec.to_json())


def _endpoint(network, ip, aliases=(), gw_priority=0):
    return Endpoint(network=network, network_id="n", bridge="br", ip=ip, prefixlen=24, gateway=ip.rsplit(".", 1)[0] + ".1",
                    mac="", sandbox_key="", endpoint_id=ip, aliases=tuple(aliases), gw_priority=gw_priority)


def _lease(root, network, ip, cid, holder=None):
    pid, start = holder or (os.getpid(), proc.start_ticks(os.getpid()))
    os.makedirs(os.path.join(root, "networks", network, "leases"), exist_ok=True)
    with open(os.path.join(root, "networks", network, "leases", ip), "w") as f:
        f.write(f"{cid} {pid} {start}\n")


def test_names_follow_dockers_rules(tmp_path):
    root = str(tmp_path)
    asker, web1, web2, other, dead = ("a" * 64, "b" * 64, "c" * 64, "d" * 64, "e" * 64)
    _container(root, asker, "asker", [_endpoint("lab", "10.1.0.2"), _endpoint("lab2", "10.2.0.2"),
                                      _endpoint("bridge", "172.17.0.2")])
    _container(root, web1, "web1", [_endpoint("lab", "10.1.0.3", aliases=("svc",))], hostname="Box")
    _container(root, web2, "web2", [_endpoint("lab", "10.1.0.4", aliases=("svc",)), _endpoint("lab2", "10.2.0.4")])
    _container(root, other, "other", [_endpoint("bridge", "172.17.0.3")])
    _container(root, dead, "dead", [_endpoint("lab", "10.1.0.9")])
    for ip, cid in (("10.1.0.2", asker), ("10.1.0.3", web1), ("10.1.0.4", web2)):
        _lease(root, "lab", ip, cid)
    _lease(root, "lab2", "10.2.0.2", asker)
    _lease(root, "lab2", "10.2.0.4", web2)
    _lease(root, "bridge", "172.17.0.3", other)
    _lease(root, "lab", "10.1.0.9", dead, holder=(os.getpid(), proc.start_ticks(os.getpid()) + 1))  # not its holder
    book = NameBook(root, asker)
    assert sorted(book.lookup("svc")) == ["10.1.0.3", "10.1.0.4"]  # a shared alias: all of them
    assert book.lookup("WEB2.") == ["10.1.0.4"]  # lab sorts first among equals: its address
    assert book.lookup("web2.lab2") == ["10.2.0.4"] and book.lookup("web1.lab2") is None
    assert book.lookup("box") == ["10.1.0.3"] and book.lookup(web1[:12]) == ["10.1.0.3"]
    assert book.lookup("other") is None  # the default bridge has no names
    assert book.lookup("dead") is None  # a lease whose holder is gone
    assert book.reverse("10.1.0.3") == "web1.lab" and book.reverse("172.17.0.3") is None
    os.unlink(os.path.join(root, "networks", "lab", "leases", "10.1.0.3"))  # web1 stopped
    assert book.lookup("svc") == ["10.1.0.4"]


def test_resolv_conf_as_docker_writes_it(tmp_path):
    host = tmp_path / "resolv.conf"
    host.write_text("# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver fd00::1\nsearch lan\n"
                    "options edns0\n")
    legacy = resolvconf.build("legacy", source=str(host))
    assert legacy.text.split("\n\n")[1] == "nameserver 10.0.0.2\nsearch lan\noptions edns0"
    assert legacy.text.endswith(f"# Based on host file: '{host}' (legacy)\n# Overrides: []\n")
    internal = resolvconf.build("internal", source=str(host))
    assert "\nnameserver 127.0.0.11\nsearch lan\noptions edns0 ndots:0\n" in internal.text
    assert internal.upstreams == ["host(127.0.0.53)", "host(10.0.0.2)", "host(fd00::1)"] and not internal.ndots_set
    assert "# ExtServers: [host(127.0.0.53) host(10.0.0.2) host(fd00::1)]\n" in internal.text
    assert "# Option ndots from: internal\n" in internal.text
    own = resolvconf.build("internal", dns=["10.9.9.9"], options=["ndots:2"], source=str(host))
    assert own.upstreams == ["10.9.9.9"] and own.ndots_set and "\noptions ndots:2\n" in own.text
    assert "# Overrides: [nameservers options]\n# Option ndots from: override\n" in own.text
    host.write_text("nameserver 127.0.0.53\n")
    fallback = resolvconf.build("legacy", source=str(host))
    assert "\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n" in fallback.text and "# Used default nameservers.\n" in fallback.text
