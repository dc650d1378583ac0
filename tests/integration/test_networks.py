"""A container on several networks (Docker's standalone networking tutorial, both parts), network
connect and disconnect of running and stopped containers, the default route and the published ports
following Docker's order, static addresses, the predefined networks, -dit without a terminal.
Real kernel; traffic only between our own namespaces."""

import json
import random
import subprocess

from tests.integration.nethelp import HTTPD, curl, proxies


def _subnet() -> str:
    return f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}"


def _ips(mc, name) -> dict[str, str]:
    nets = json.loads(mc.ok("inspect", name))[0]["NetworkSettings"]["Networks"]
    return {net: ep["IPAddress"] for net, ep in nets.items()}


def _reaches(mc, name, ip) -> bool:
    return mc("exec", name, "ping", "-c", "1", "-W", "1", ip).returncode == 0


def _members(mc, network) -> set[str]:
    return {c["Name"] for c in json.loads(mc.ok("network", "inspect", network))[0]["Containers"].values()}


def test_networks_ls_lists_the_predefined_ones_from_the_start(mc):
    rows = [line.split() for line in mc.ok("network", "ls").splitlines()]
    assert rows[0] == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [("bridge", "bridge", "local"), ("host", "host", "local"),
                                                      ("none", "null", "local")]
    host = json.loads(mc.ok("network", "inspect", "host", rows[3][0]))
    assert [n["Name"] for n in host] == ["host", "none"] and host[0]["Driver"] == "host"
    assert mc.ok("network", "ls", "-q").split() == [r[0] for r in rows[1:]]


def test_dockers_standalone_networking_tutorial(mc):
    net = _subnet()
    mc.ok("network", "create", "--driver", "bridge", "--subnet", f"{net}.0/24", "alpine-net")
    assert [line.split()[1] for line in mc.ok("network", "ls").splitlines()[1:]] == ["alpine-net", "bridge", "host", "none"]
    for name, network in (("alpine1", "alpine-net"), ("alpine2", "alpine-net"), ("alpine3", "bridge"),
                          ("alpine4", "alpine-net")):
        mc.ok("run", "-dit", "--name", name, "--network", network, "busybox", "sh")  # no terminal here: Docker runs it too
    mc.ok("network", "connect", "bridge", "alpine4")
    assert _members(mc, "alpine-net") == {"alpine1", "alpine2", "alpine4"}
    assert _members(mc, "bridge") == {"alpine3", "alpine4"}
    ips = {name: _ips(mc, name) for name in ("alpine1", "alpine2", "alpine3", "alpine4")}
    assert ips["alpine4"] == {"alpine-net": f"{net}.4", "bridge": f"{mc.net}.0.3"}
    links = mc.ok("exec", "alpine4", "ip", "-o", "-4", "addr")
    assert f"eth0    inet {net}.4/24" in links and f"eth1    inet {mc.net}.0.3/16" in links
    assert _reaches(mc, "alpine1", ips["alpine2"]["alpine-net"])
    assert not _reaches(mc, "alpine1", ips["alpine3"]["bridge"])  # another network: the isolation chains drop it
    assert _reaches(mc, "alpine4", ips["alpine1"]["alpine-net"]) and _reaches(mc, "alpine4", ips["alpine3"]["bridge"])
    mc.ok("network", "disconnect", "bridge", "alpine4")
    assert not _reaches(mc, "alpine4", ips["alpine3"]["bridge"])
    assert _reaches(mc, "alpine4", ips["alpine1"]["alpine-net"])
    assert "eth1" not in mc.ok("exec", "alpine4", "ip", "-o", "link")
    assert _members(mc, "bridge") == {"alpine3"}
    mc.ok("rm", "-f", "alpine1", "alpine2", "alpine3", "alpine4")
    assert mc.ok("network", "rm", "alpine-net") == "alpine-net\n"


def test_the_default_route_and_the_published_ports_follow_the_network_that_sorts_first(mc, outside_client):
    ns, host_side = outside_client
    net, port = _subnet(), random.randrange(20000, 60000)
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "lab")
    mc.ok("run", "-d", "--name", "web", "--network", "lab", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="web"))
    assert curl(f"http://127.0.0.1:{port}/") == "hello-web\n"
    mc.ok("network", "connect", "bridge", "web")  # "bridge" sorts before "lab": it gives the route and carries the ports
    bridge_ip = _ips(mc, "web")["bridge"]
    assert f"default via {mc.net}.0.1 dev eth1" in mc.ok("exec", "web", "ip", "route")
    assert f"--to-destination {bridge_ip}:80" in mc.save("-t", "nat") and f"--to-destination {net}.2:80" not in mc.save("-t", "nat")
    cid = mc.ok("inspect", "-f", "{{.Id}}", "web").strip()
    assert len(proxies(port)) == 2 and all(f"minicontainer.runtime.monitor {cid}" in p for p in proxies(port))
    assert curl(f"http://127.0.0.1:{port}/") == "hello-web\n"  # through the proxy
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-web\n"  # from outside: DNAT, and the reply goes back
    assert mc.ok("port", "web") .splitlines()[0] == f"80/tcp -> 0.0.0.0:{port}"
    mc.ok("network", "disconnect", "bridge", "web")
    script = mc.ok("explain", "web")  # the start, then each change while it ran, as commands
    connect_at, disconnect_at = (script.index("# ==== later, while it ran: network connect bridge"),
                                 script.index("# ==== later, while it ran: network disconnect bridge"))
    assert connect_at < disconnect_at and f"master {mc.bridge} up type veth peer name eth1" in script[connect_at:]
    assert f"--to-destination {bridge_ip}:80" in script[connect_at:disconnect_at]
    assert f"-container-ip {bridge_ip} -container-port 80" in script[connect_at:disconnect_at]  # the proxy moved too
    assert f"default via {net}.1 dev eth0" in mc.ok("exec", "web", "ip", "route")
    assert f"--to-destination {net}.2:80" in mc.save("-t", "nat") and f"--to-destination {bridge_ip}:80" not in mc.save("-t", "nat")
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-web\n"
    assert curl(f"http://127.0.0.1:{port}/") == "hello-web\n"
    mc.ok("rm", "-f", "web")
    assert proxies(port) == [] and f"--dport {port} " not in mc.save("-t", "nat")
    mc.ok("network", "rm", "lab")


def test_static_address_mac_and_alias_and_their_conflicts(mc):
    net = _subnet()
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "--ip-range", f"{net}.128/25", "lab")
    mc.ok("run", "-d", "--name", "fixed", "--network", "lab", "--ip", f"{net}.50", "--mac-address", "92:d0:c6:0a:29:33",
          "--network-alias", "web", "busybox", "sleep", "300")
    link = mc.ok("exec", "fixed", "ip", "addr", "show", "eth0")
    assert f"inet {net}.50/24" in link and "link/ether 92:d0:c6:0a:29:33" in link
    ep = json.loads(mc.ok("inspect", "fixed"))[0]["NetworkSettings"]["Networks"]["lab"]
    assert ep["IPAMConfig"] == {"IPv4Address": f"{net}.50"} and ep["Aliases"] == ["web"]
    assert ep["MacAddress"] == "92:d0:c6:0a:29:33" and ep["DNSNames"][:2] == ["fixed", "web"]
    mc.ok("run", "-d", "--name", "dynamic", "--network", "lab", "busybox", "sleep", "300")
    assert _ips(mc, "dynamic") == {"lab": f"{net}.128"}  # --ip-range: from the range only (its first one too, as Docker)
    bridge = json.loads(mc.ok("network", "inspect", "lab"))[0]["Options"]["com.docker.network.bridge.name"]
    veths = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout
    proc = mc("run", "--rm", "--network", "lab", "--ip", f"{net}.50", "busybox", "true")
    assert proc.returncode == 125 and proc.stderr.strip() == "minicontainer: Error response from daemon: Address already in use"
    proc = mc("network", "connect", "--ip", f"{net}.50", "lab", "dynamic")
    assert proc.returncode == 1 and "endpoint with name dynamic already exists in network lab" in proc.stderr
    proc = mc("run", "--rm", "--network", "lab", "--ip", "10.9.9.9", "busybox", "true")
    assert proc.returncode == 125 and "no configured subnet contains IP address 10.9.9.9" in proc.stderr
    assert subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout == veths
    assert sorted(line.split()[-1] for line in mc.ok("ps", "-a").splitlines()[1:]) == ["dynamic", "fixed"]
    mc.ok("rm", "-f", "fixed", "dynamic")
    mc.ok("network", "rm", "lab")


def test_a_stopped_container_remembers_its_networks(mc):
    net = _subnet()
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "lab")
    mc.ok("create", "--name", "later", "--network", "lab", "busybox", "sleep", "300")
    mc.ok("network", "connect", "bridge", "later")
    assert _ips(mc, "later") == {"lab": "", "bridge": ""}  # Docker's view of a stopped container's networks
    mc.ok("start", "later")
    assert _ips(mc, "later") == {"lab": f"{net}.2", "bridge": f"{mc.net}.0.2"}
    links = mc.ok("exec", "later", "ip", "-o", "-4", "addr")
    assert f"eth0    inet {net}.2/24" in links and f"eth1    inet {mc.net}.0.2/16" in links
    hosts = mc.ok("exec", "later", "cat", "/etc/hosts")
    assert f"{net}.2\t" in hosts and f"{mc.net}.0.2\t" in hosts
    mc.ok("network", "disconnect", "lab", "later")  # live: eth0 goes, the route moves to eth1
    assert "eth0" not in mc.ok("exec", "later", "ip", "-o", "link")
    assert f"{net}.2\t" not in mc.ok("exec", "later", "cat", "/etc/hosts")
    mc.ok("stop", "-t", "0", "later")
    mc.ok("network", "disconnect", "bridge", "later")
    assert _ips(mc, "later") == {}
    mc.ok("start", "later")
    links = mc.ok("exec", "later", "ip", "-o", "link").splitlines()
    assert len(links) == 1 and links[0].startswith("1: lo:")  # no network left: a namespace with lo only
    proc = mc("network", "rm", "lab")
    assert proc.returncode == 0
    mc.ok("rm", "-f", "later")


def test_network_options_and_what_they_switch(mc):
    net = _subnet()
    out = mc.ok("network", "create", "--subnet", f"{net}.0/24", "-o", "com.docker.network.bridge.name=mctlab0",
                "-o", "com.docker.network.driver.mtu=1400", "--label", "course=net101", "lab")
    data = json.loads(mc.ok("network", "inspect", "lab"))[0]
    assert data["Id"] == out.strip() and data["Labels"] == {"course": "net101"}
    assert data["Options"]["com.docker.network.driver.mtu"] == "1400"
    mc.ok("run", "-d", "--name", "small", "--network", "lab", "busybox", "sleep", "300")
    assert "mtu 1400" in mc.ok("exec", "small", "ip", "link", "show", "eth0")
    host_end = subprocess.run(["ip", "-o", "link", "show", "master", "mctlab0"], capture_output=True, text=True).stdout
    assert "mtu 1400" in host_end and "mtu 1400" in subprocess.run(["ip", "link", "show", "mctlab0"],
                                                                    capture_output=True, text=True).stdout
    mc.ok("rm", "-f", "small")
    mc.ok("network", "rm", "lab")
    assert subprocess.run(["ip", "link", "show", "mctlab0"], capture_output=True).returncode != 0


def test_enable_icc_false_blocks_the_bridge_but_not_published_ports(mc):
    net, port = _subnet(), random.randrange(20000, 60000)
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "-o", "com.docker.network.bridge.enable_icc=false", "quiet")
    mc.ok("run", "-d", "--name", "srv", "--network", "quiet", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="srv"))
    mc.ok("run", "-d", "--name", "peer", "--network", "quiet", "busybox", "sleep", "300")
    bridge = json.loads(mc.ok("network", "inspect", "quiet"))[0]["Options"]["com.docker.network.bridge.name"]
    save = mc.save("-t", "filter")
    assert f"-A FORWARD -i {bridge} -o {bridge} -j DROP" in save and f"-i {bridge} -o {bridge} -j ACCEPT" not in save
    fetch = mc("exec", "peer", "wget", "-q", "-T", "2", "-O-", f"http://{net}.2/")
    assert fetch.returncode != 0 and "hello" not in fetch.stdout  # neighbours on the bridge: dropped
    assert curl(f"http://127.0.0.1:{port}/") == "hello-srv\n"  # published: still reachable
    mc.ok("rm", "-f", "srv", "peer")
    mc.ok("network", "rm", "quiet")


def test_an_internal_network_has_no_way_out(mc, outside_client):
    ns, host_side = outside_client
    net = _subnet()
    mc.ok("network", "create", "--internal", "--subnet", f"{net}.0/24", "island")
    data = json.loads(mc.ok("network", "inspect", "island"))[0]
    assert data["Internal"] is True
    mc.ok("run", "-d", "--name", "inner", "--network", "island", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "buddy", "--network", "island", "busybox", "sleep", "300")
    assert "default" not in mc.ok("exec", "inner", "ip", "route")  # no gateway on an internal network
    assert _reaches(mc, "inner", f"{net}.3")  # inside the network: fine
    pid = json.loads(mc.ok("inspect", "inner"))[0]["State"]["Pid"]
    # even with a route added by hand, the firewall keeps it in (and the outside out)
    subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "route", "add", "default", "via", f"{net}.1"], check=True)
    assert not _reaches(mc, "inner", host_side.rsplit(".", 1)[0] + ".2")
    save = mc.save("-t", "filter")
    bridge = data["Options"]["com.docker.network.bridge.name"]
    assert f"! -s {net}.0/24 -o {bridge} -j DROP" in save, save
    assert f"! -d {net}.0/24 -i {bridge} -j DROP" in save
    assert f"-s {net}.0/24" not in mc.save("-t", "nat")  # no MASQUERADE
    mc.ok("rm", "-f", "inner", "buddy")
    mc.ok("network", "rm", "island")


def test_a_router_container_between_two_networks(mc):
    a, b = _subnet(), _subnet()
    while b == a:
        b = _subnet()
    mc.ok("network", "create", "--subnet", f"{a}.0/24", "left")
    mc.ok("network", "create", "--subnet", f"{b}.0/24", "right")
    mc.ok("run", "-d", "--name", "router", "--network", "left", "busybox", "sleep", "300")
    mc.ok("network", "connect", "right", "router")
    mc.ok("run", "-d", "--name", "west", "--network", "left", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "east", "--network", "right", "busybox", "sleep", "300")
    pids = {n: json.loads(mc.ok("inspect", n))[0]["State"]["Pid"] for n in ("router", "west", "east")}

    def inside(name, *cmd):
        subprocess.run(["nsenter", f"--net=/proc/{pids[name]}/ns/net", *cmd], check=True)
    inside("router", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    inside("west", "ip", "route", "add", f"{b}.0/24", "via", f"{a}.2")
    inside("east", "ip", "route", "add", f"{a}.0/24", "via", f"{b}.2")
    assert _reaches(mc, "west", f"{b}.3")  # through the router's eth0 and eth1, not the host's FORWARD between bridges
    mc.ok("network", "disconnect", "right", "router")
    assert not _reaches(mc, "west", f"{b}.3")
    mc.ok("rm", "-f", "router", "west", "east")
    mc.ok("network", "rm", "left", "right")


def test_inspect_templates_as_dockers_docs_write_them(mc):
    net = _subnet()
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "lab")
    mc.ok("run", "-d", "--name", "two", "--network", "lab", "-p", "8080", "busybox", "sleep", "300")
    mc.ok("network", "connect", "bridge", "two")
    ips = mc.ok("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "two").split()
    assert sorted(ips) == sorted(_ips(mc, "two").values()) and len(ips) == 2
    port = mc.ok("inspect", "-f", '{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}', "two").strip()
    assert f":{port}" in mc.ok("port", "two", "8080")
    assert mc.ok("network", "inspect", "-f", "{{len .Containers}} {{.Name}}", "lab") == "1 lab\n"
    bad = mc("inspect", "-f", "{{.Nope}}", "two")
    assert bad.returncode == 1 and 'map has no entry for key "Nope"' in bad.stderr
    mc.ok("rm", "-f", "two")
    mc.ok("network", "rm", "lab")
