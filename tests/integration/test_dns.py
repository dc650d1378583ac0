"""Names on user-defined networks: the embedded DNS server on 127.0.0.11 (Docker's standalone
networking tutorial by name, aliases, short ids, hostnames, PTR), names that follow start, stop,
kill -9, rm, connect and disconnect, forwarding to a *local* test upstream (never the machine's
resolvers), --dns, --dns-search, --dns-option, --add-host, --link, --domainname.
Real kernel; every query stays on this machine."""

import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

import pytest

from minicontainer.network import dnswire as wire


def _subnet() -> str:
    return f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}"


def _lookup(mc, name: str, target: str) -> str:
    """busybox nslookup in the container: A and AAAA for a name, PTR for an address."""
    return mc("exec", name, "nslookup", target).stdout


def _addresses(out: str) -> list[str]:
    """The answers of busybox nslookup's output (after the server's own "Address:" line)."""
    lines = out.split("Non-authoritative answer:", 1)[-1].splitlines() if "answer:" in out else []
    return sorted(line.split()[-1] for line in lines if line.startswith("Address:"))


def _ip(mc, name: str, network: str) -> str:
    return json.loads(mc.ok("inspect", name))[0]["NetworkSettings"]["Networks"][network]["IPAddress"]


class Upstream:
    """A tiny DNS server of the test's own, on an address of this machine: A records for the names
    it is given, NXDOMAIN for the rest. It records the names it was asked."""

    def __init__(self, address: str, records: dict[str, str]):
        self.records, self.asked = records, []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND: the bridge may come up later
        self.sock.bind((address, 53))
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            q = wire.parse_query(data)
            if q is None:
                continue
            self.asked.append(q.name)
            ip = self.records.get(q.name)
            if ip and q.qtype == wire.A:
                answer = wire.reply(data, q, wire.A, [wire.a_record(ip)])
            else:
                answer = wire.error(data, q, wire.NOERROR if ip else wire.NXDOMAIN)
            self.sock.sendto(answer, peer)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def upstream(mc, tmp_path):
    """A local upstream on a loopback address, named by the host resolv.conf the containers see."""
    address = f"127.{random.randrange(1, 250)}.{random.randrange(1, 250)}.{random.randrange(2, 250)}"
    server = Upstream(address, {"outside.test": "192.0.2.7"})
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {address}\noptions attempts:2\n")  # no search list: busybox's nslookup
    #                                                      would ask only NAME.DOMAIN for a dotless NAME
    mc.env["MINICONTAINER_RESOLV_CONF"] = str(conf)
    yield server
    server.close()


def test_dockers_standalone_networking_tutorial_by_name(mc, upstream):
    net = _subnet()
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "alpine-net")
    for name, network in (("alpine1", "alpine-net"), ("alpine2", "alpine-net"), ("alpine3", "bridge"),
                          ("alpine4", "alpine-net")):
        mc.ok("run", "-dit", "--name", name, "--network", network, "busybox", "sh")
    mc.ok("network", "connect", "bridge", "alpine4")
    resolv = mc.ok("exec", "alpine1", "cat", "/etc/resolv.conf")
    assert "\nnameserver 127.0.0.11\noptions attempts:2 ndots:0\n" in resolv
    assert f"# ExtServers: [host({upstream.sock.getsockname()[0]})]" in resolv
    legacy = mc.ok("exec", "alpine3", "cat", "/etc/resolv.conf")  # the default bridge: no embedded DNS,
    assert "127.0.0.11" not in legacy and "nameserver 8.8.8.8" in legacy  # and the loopback upstream dropped
    for target in ("alpine2", "alpine4"):
        assert mc("exec", "alpine1", "ping", "-c", "1", "-W", "2", target).returncode == 0, target
    assert _addresses(_lookup(mc, "alpine1", "alpine4")) == [_ip(mc, "alpine4", "alpine-net")]
    assert "NXDOMAIN" in _lookup(mc, "alpine1", "alpine3")  # not on alpine-net: forwarded, unknown there
    assert "alpine3" in upstream.asked
    assert mc("exec", "alpine4", "ping", "-c", "1", "-W", "2", "alpine1").returncode == 0
    assert "NXDOMAIN" in _lookup(mc, "alpine4", "alpine3")  # the default bridge has no names
    assert mc("exec", "alpine3", "ping", "-c", "1", "-W", "1", "alpine1").returncode != 0
    mc.ok("rm", "-f", "alpine1", "alpine2", "alpine3", "alpine4")
    mc.ok("network", "rm", "alpine-net")


def test_aliases_short_ids_hostnames_ptr_and_ipv6(mc):
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "lab")
    a = mc.ok("run", "-d", "--name", "ca", "--network", "lab", "--network-alias", "svc", "busybox", "sleep", "300").strip()
    mc.ok("run", "-d", "--name", "cb", "--network", "lab", "--network-alias", "svc", "--hostname", "bee",
          "busybox", "sleep", "300")
    ips = {n: _ip(mc, n, "lab") for n in ("ca", "cb")}
    assert _addresses(_lookup(mc, "ca", "svc")) == sorted(ips.values())  # a shared alias: every address
    assert _addresses(_lookup(mc, "cb", a[:12])) == [ips["ca"]]
    assert _addresses(_lookup(mc, "ca", "BEE")) == [ips["cb"]]  # the hostname, any case
    assert _addresses(_lookup(mc, "ca", "cb.lab")) == [ips["cb"]]  # NAME.NETWORK
    assert "name = cb.lab" in _lookup(mc, "ca", ips["cb"])
    aaaa = mc("exec", "ca", "nslookup", "-type=AAAA", "cb")
    assert "NXDOMAIN" not in aaaa.stdout and "SERVFAIL" not in aaaa.stdout and not _addresses(aaaa.stdout)
    assert json.loads(mc.ok("inspect", "cb"))[0]["NetworkSettings"]["Networks"]["lab"]["DNSNames"] == \
        ["cb", "svc", json.loads(mc.ok("inspect", "cb"))[0]["Id"][:12], "bee"]
    shown = mc.ok("network", "show", "lab")
    sup = json.loads(open(os.path.join(mc.root, "containers", a, "container.json")).read())["supervisor"]["pid"]
    assert "embedded DNS 127.0.0.11:53 (udp/" in shown and f"held by supervisor pid {sup}" in shown
    assert "DNS 127.0.0.11: its supervisor" in mc.ok("network", "show", "--format", "svg", "lab")
    mc.ok("rm", "-f", "ca", "cb")
    mc.ok("network", "rm", "lab")


def test_names_follow_start_stop_kill_rm_connect_and_disconnect(mc):
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "lab")
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "other")
    mc.ok("run", "-d", "--name", "asker", "--network", "lab", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "tt", "--network", "lab", "busybox", "sleep", "300")
    assert _addresses(_lookup(mc, "asker", "tt"))  # resolvable as soon as run -d returned
    mc.ok("stop", "-t", "0", "tt")
    assert not _addresses(_lookup(mc, "asker", "tt"))
    mc.ok("start", "tt")
    assert _addresses(_lookup(mc, "asker", "tt")) == [_ip(mc, "tt", "lab")]
    os.kill(int(mc.ok("inspect", "-f", "{{.State.Pid}}", "tt")), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _addresses(_lookup(mc, "asker", "tt")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _addresses(_lookup(mc, "asker", "tt"))  # its supervisor let its lease go
    mc.ok("rm", "tt")
    mc.ok("run", "-d", "--name", "late", "--network", "other", "busybox", "sleep", "300")
    assert not _addresses(_lookup(mc, "asker", "late"))  # another network
    mc.ok("network", "connect", "--alias", "later", "lab", "late")
    assert _addresses(_lookup(mc, "asker", "later")) == [_ip(mc, "late", "lab")]  # connected: at once
    mc.ok("network", "disconnect", "lab", "late")
    assert not _addresses(_lookup(mc, "asker", "late"))
    mc.ok("rm", "-f", "asker", "late")
    mc.ok("network", "rm", "lab", "other")


def test_twenty_containers_on_one_network_resolve_each_other(mc):
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "crowd")
    names = [f"c{n}" for n in range(20)]
    for name in names:
        mc.ok("run", "-d", "--name", name, "--network", "crowd", "busybox", "sleep", "300")
    loop = "for n in " + " ".join(names) + "; do ping -c 1 -W 2 $n >/dev/null || { echo $n; exit 1; }; done"
    for name in names:
        proc = mc("exec", name, "sh", "-c", loop)
        assert proc.returncode == 0, f"{name} could not reach {proc.stdout}"
    mc.ok("rm", "-f", *names)
    mc.ok("network", "rm", "crowd")


def test_kill_9_of_the_supervisor_then_the_next_command_restores_service(mc):
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "lab")
    mc.ok("run", "-d", "--name", "asker", "--network", "lab", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "held", "--network", "lab", "busybox", "sleep", "300")
    sup = json.loads(open(os.path.join(mc.root, "containers", mc.ok("inspect", "-f", "{{.Id}}", "held").strip(),
                                       "container.json")).read())["supervisor"]["pid"]
    os.kill(sup, signal.SIGKILL)  # what held its listener; the container dies with it
    assert not _addresses(_lookup(mc, "asker", "held"))  # a dead holder's lease answers for nothing
    assert mc.ok("inspect", "-f", "{{.State.Status}}", "held") == "exited\n"  # the next command reaps it
    mc.ok("start", "held")
    assert _addresses(_lookup(mc, "asker", "held")) == [_ip(mc, "held", "lab")]
    assert _addresses(_lookup(mc, "held", "asker")) == [_ip(mc, "asker", "lab")]  # its new server answers
    mc.ok("rm", "-f", "asker", "held")
    mc.ok("network", "rm", "lab")


def test_forwarding_and_dns_flags(mc, upstream):
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "lab")
    mc.ok("run", "-d", "--name", "fw", "--network", "lab", "busybox", "sleep", "300")
    assert _addresses(_lookup(mc, "fw", "outside.test")) == ["192.0.2.7"]  # forwarded from the host's side
    # --dns: the container asks that server itself (from its own namespace): here our upstream
    # again, on the lab bridge's gateway address
    gateway = json.loads(mc.ok("network", "inspect", "lab"))[0]["IPAM"]["Config"][0]["Gateway"]
    local = Upstream(gateway, {"only-here.test": "192.0.2.9"})
    try:
        mc.ok("run", "-d", "--name", "own", "--network", "lab", "--dns", gateway, "--dns-search", "corp.test",
              "--dns-option", "ndots:2", "--add-host", "db:10.1.2.3", "--add-host", "gw:host-gateway",
              "--hostname", "web", "--domainname", "example.org", "busybox", "sleep", "300")
        resolv = mc.ok("exec", "own", "cat", "/etc/resolv.conf")
        assert "\nnameserver 127.0.0.11\nsearch corp.test\noptions ndots:2\n" in resolv
        assert f"# ExtServers: [{gateway}]" in resolv and "# Overrides: [nameservers search options]" in resolv
        assert _addresses(_lookup(mc, "own", "only-here.test")) == ["192.0.2.9"]
        # its network's names still answer (ping: busybox's nslookup would only try fw.corp.test)
        assert mc("exec", "own", "ping", "-c", "1", "-W", "2", "fw").returncode == 0
        hosts = mc.ok("exec", "own", "cat", "/etc/hosts")
        bridge_gw = json.loads(mc.ok("network", "inspect", "bridge"))[0]["IPAM"]["Config"][0]["Gateway"]
        ip = _ip(mc, "own", "lab")
        assert hosts.endswith(f"10.1.2.3\tdb\n{bridge_gw}\tgw\n{ip}\tweb.example.org web\n")
        hc = json.loads(mc.ok("inspect", "own"))[0]["HostConfig"]
        assert (hc["Dns"], hc["DnsSearch"], hc["DnsOptions"], hc["ExtraHosts"]) == \
            ([gateway], ["corp.test"], ["ndots:2"], ["db:10.1.2.3", "gw:host-gateway"])
        # On the default bridge: no embedded DNS, the --dns server itself in resolv.conf
        legacy = mc.ok("run", "--rm", "--dns", gateway, "busybox", "cat", "/etc/resolv.conf")
        assert "\nnameserver " + gateway + "\n" in legacy and "127.0.0.11" not in legacy
    finally:
        local.close()
    mc.ok("rm", "-f", "fw", "own")
    mc.ok("network", "rm", "lab")


def test_link_on_the_default_bridge(mc):
    mc.ok("run", "-d", "--name", "db", "--hostname", "dbhost", "busybox", "sleep", "300")
    mc.ok("create", "--name", "web", "--link", "db:database", "busybox", "sleep", "300")
    assert json.loads(mc.ok("inspect", "web"))[0]["HostConfig"]["Links"] == ["/db:/web/database"]
    mc.ok("start", "web")
    hosts = mc.ok("exec", "web", "cat", "/etc/hosts")
    assert f"{_ip(mc, 'db', 'bridge')}\tdatabase dbhost db\n" in hosts
    assert mc("exec", "web", "ping", "-c", "1", "-W", "2", "database").returncode == 0
    mc.ok("stop", "-t", "0", "web", "db")
    proc = mc("start", "web")
    assert proc.returncode != 0 and "Cannot link to a non running container: /db AS /web/database" in proc.stderr
    mc.ok("rm", "-f", "web", "db")


def test_bench_style_lookup_through_127_0_0_11_from_the_host(mc):
    """The query bench measures: from the container's namespace, a UDP query to 127.0.0.11:53."""
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "lab")
    mc.ok("run", "-d", "--name", "one", "--network", "lab", "busybox", "sleep", "300")
    pid = int(mc.ok("inspect", "-f", "{{.State.Pid}}", "one"))
    script = ("import socket,struct,sys\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(2)\n"
              "q=struct.pack('!HHHHHH',7,0x0100,1,0,0,0)+b'\\x03one\\x00'+struct.pack('!HH',1,1)\n"
              "s.sendto(q,('127.0.0.11',53));r=s.recv(512);print(socket.inet_ntoa(r[-4:]))\n")
    out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "python3", "-c", script], capture_output=True,
                         text=True, timeout=10)
    assert out.stdout.strip() == _ip(mc, "one", "lab"), out.stderr
    mc.ok("rm", "-f", "one")
    mc.ok("network", "rm", "lab")


def test_a_default_bridge_container_connected_to_a_user_network_gets_the_embedded_dns(mc):
    mc.ok("network", "create", "--subnet", f"{_subnet()}.0/24", "lab")
    mc.ok("run", "-d", "--name", "server", "--network", "lab", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "plain", "busybox", "sleep", "300")
    assert mc("exec", "plain", "ping", "-c", "1", "-W", "1", "server").returncode != 0  # no names on the bridge
    done = mc("network", "connect", "--explain", "lab", "plain")
    assert done.returncode == 0, done.stderr
    assert "minicontainer-resolver" in done.stderr  # its supervisor started the server
    assert "\nnameserver 127.0.0.11\n" in mc.ok("exec", "plain", "cat", "/etc/resolv.conf")
    assert mc("exec", "plain", "ping", "-c", "1", "-W", "2", "server").returncode == 0
    assert _addresses(_lookup(mc, "server", "plain")) == [_ip(mc, "plain", "lab")]
    mc.ok("network", "disconnect", "lab", "plain")  # the server stays, as Docker's; lab's names go
    assert mc("exec", "plain", "ping", "-c", "1", "-W", "1", "server").returncode != 0
    mc.ok("rm", "-f", "server", "plain")
    mc.ok("network", "rm", "lab")
