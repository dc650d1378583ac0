"""Bridge networking against the real kernel: addresses, veth, leases, rules, traffic (all on this machine)."""

import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from minicontainer.network.backends import BACKENDS
from tests.helpers.reference import reference as _reference
from tests.helpers.reference import split_tables as _split
from tests.integration.nethelp import HTTPD, curl, host_address, proxies

# Each test runs with our rules in nf_tables (through iptables-nft) and in the legacy tables.
pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def _veths_on(bridge):
    path = f"/sys/class/net/{bridge}/brif"
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def _inspect(mc, name, fmt):
    return mc.ok("inspect", "-f", fmt, name).strip()


def test_container_interface_like_docker(br):
    out = br.ok("run", "--rm", "--net", "bridge", "-h", "box", "busybox", "sh", "-c",
                "ip -o -4 addr show eth0; cat /sys/class/net/eth0/address; ip route; tail -1 /etc/hosts; ip -o link show lo")
    assert f"inet {br.net}.0.2/16" in out
    assert f"02:42:0a:{int(br.net.split('.')[1]):02x}:00:02" in out
    assert f"default via {br.net}.0.1 dev eth0" in out
    assert f"{br.net}.0.2\tbox" in out
    assert "LOOPBACK,UP" in out
    assert _veths_on(br.bridge) == []  # --rm: the veth went with the container


def test_traffic_host_container_gateway(br):
    br.ok("run", "-d", "--name", "web", "--net", "bridge", "busybox", "sh", "-c",
          "mkdir /www && echo hello-web > /www/index.html && exec httpd -f -p 80 -h /www")
    ip = _inspect(br, "web", "{{.NetworkSettings.IPAddress}}")
    assert ip == f"{br.net}.0.2"
    veths = _veths_on(br.bridge)
    assert len(veths) == 1 and re.fullmatch(r"veth[0-9a-f]{7}", veths[0])
    deadline = time.monotonic() + 5
    while True:  # httpd needs a moment to listen
        got = subprocess.run(["curl", "-s", "--max-time", "2", f"http://{ip}/"], capture_output=True, text=True).stdout
        if got == "hello-web\n" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got == "hello-web\n"  # host -> container
    # container -> container by IP, and container -> gateway
    assert br.ok("run", "--rm", "--net", "bridge", "busybox", "wget", "-qO-", f"http://{ip}/") == "hello-web\n"
    assert "1 packets received" in br.ok("run", "--rm", "--net", "bridge", "busybox", "ping", "-c1", "-W2", f"{br.net}.0.1")
    # the namespace is visible to `ip netns`
    sandbox = _inspect(br, "web", "{{.NetworkSettings.SandboxKey}}")
    out = subprocess.run(["ip", "netns", "exec", os.path.basename(sandbox), "ip", "-o", "-4", "addr", "show", "eth0"],
                         capture_output=True, text=True).stdout
    assert f"{ip}/16" in out
    br.ok("rm", "-f", "web")
    assert _veths_on(br.bridge) == [] and not os.path.exists(sandbox)


def test_leases_first_free_and_reused(br):
    for name in ("l1", "l2"):
        br.ok("run", "-d", "--name", name, "--net", "bridge", "busybox", "sleep", "100")
    assert [_inspect(br, n, "{{.NetworkSettings.IPAddress}}") for n in ("l1", "l2")] == [f"{br.net}.0.2", f"{br.net}.0.3"]
    br.ok("rm", "-f", "l1")
    br.ok("run", "-d", "--name", "l3", "--net", "bridge", "busybox", "sleep", "100")
    assert _inspect(br, "l3", "{{.NetworkSettings.IPAddress}}") == f"{br.net}.0.2"
    leases = os.listdir(os.path.join(br.root, "networks", "bridge", "leases"))
    assert sorted(x for x in leases if x[0].isdigit()) == [f"{br.net}.0.2", f"{br.net}.0.3"]
    br.ok("stop", "-t", "0", "l3")
    assert _inspect(br, "l3", "{{.NetworkSettings.IPAddress}}") == ""  # a stopped container has no address
    br.ok("rm", "l3")
    br.ok("rm", "-f", "l2")
    leases = os.listdir(os.path.join(br.root, "networks", "bridge", "leases"))
    assert [x for x in leases if x[0].isdigit()] == []


def test_kernel_rules_match_docker_reference(br):
    br.ok("run", "-d", "--name", "r1", "--net", "bridge", "busybox", "sleep", "100")
    save = br.save()
    ours = []
    for line in save.splitlines():
        if line.startswith(("*", "COMMIT")) or (br.prefix in line or br.bridge in line):
            ours.append(line)
    text = "\n".join(ours) + "\n"
    text = re.sub(rf"{br.prefix}(?=-|\s|$)", "DOCKER", text, flags=re.M).replace(br.bridge, "docker0")
    text = text.replace(f"{br.net}.0.0/16", "172.17.0.0/16")
    ref = _reference("iptables-empty-daemon.txt")
    for table in ("nat", "filter"):
        want = [line for line in _split(ref)[table].splitlines() if line.startswith("-A") or line.startswith(":DOCKER")]
        got = [line for line in _split(text)[table].splitlines() if line.startswith("-A") or line.startswith(":DOCKER")]
        assert got == want, table
    br.ok("rm", "-f", "r1")


def test_killed_supervisor_leaves_no_network_state(br):
    br.ok("run", "-d", "--name", "vv", "--net", "bridge", "busybox", "sleep", "100")
    state = json.load(open(os.path.join(br.root, "containers", _inspect(br, "vv", "{{.Id}}"), "container.json")))
    sandbox = _inspect(br, "vv", "{{.NetworkSettings.SandboxKey}}")
    assert os.path.exists(sandbox) and len(_veths_on(br.bridge)) == 1
    os.kill(state["supervisor"]["pid"], signal.SIGKILL)
    time.sleep(0.3)
    assert "Exited (" in br.ok("ps", "-a")  # the next command reaps it ...
    assert not os.path.exists(sandbox) and _veths_on(br.bridge) == []  # ... and undoes its journal
    leases = os.listdir(os.path.join(br.root, "networks", "bridge", "leases"))
    assert [x for x in leases if x[0].isdigit()] == []
    br.ok("rm", "vv")


def test_publish_reaches_container_from_loopback_host_address_and_ipv6(br):
    port = random.randrange(20000, 30000)
    br.ok("run", "-d", "--name", "pub", "--net", "bridge", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="pub"))
    assert curl(f"http://127.0.0.1:{port}/") == "hello-pub\n"          # through the userland proxy
    assert curl(f"http://{host_address()}:{port}/") == "hello-pub\n"  # DNAT in nat OUTPUT
    assert curl(f"http://[::1]:{port}/") == "hello-pub\n"              # the [::] proxy
    assert br.ok("port", "pub") == f"80/tcp -> 0.0.0.0:{port}\n80/tcp -> [::]:{port}\n"
    assert f"0.0.0.0:{port}->80/tcp, [::]:{port}->80/tcp" in br.ok("ps")
    data = json.loads(br.ok("inspect", "pub"))[0]
    assert data["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)},
                                                          {"HostIp": "::", "HostPort": str(port)}]}
    assert data["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": str(port)}]}
    cid = data["Id"]
    served = proxies(port)  # one listener per address family, like docker-proxy's, both in the container's supervisor
    assert sorted(p.split()[0] for p in served) == [f"0.0.0.0:{port}", f"[::]:{port}"]
    assert all(f"minicontainer.runtime.monitor {cid}" in p for p in served)
    save = br.save()
    ip = data["NetworkSettings"]["IPAddress"]
    assert f"-A {br.prefix} ! -i {br.bridge} -p tcp -m tcp --dport {port} -j DNAT --to-destination {ip}:80" in save
    assert f"-A POSTROUTING -s {ip}/32 -d {ip}/32 -p tcp -m tcp --dport 80 -j MASQUERADE" in save
    assert f"-A {br.prefix} -d {ip}/32 ! -i {br.bridge} -o {br.bridge} -p tcp -m tcp --dport 80 -j ACCEPT" in save
    # hairpin: the container reaches its own published port through the host's address
    assert br.ok("exec", "pub", "wget", "-qO-", f"http://{host_address()}:{port}/") == "hello-pub\n"
    br.ok("rm", "-f", "pub")
    assert proxies(port) == []
    save = br.save()
    assert f"--dport {port}" not in save and f"{ip}/32" not in save


def test_random_host_port_and_busy_port(br):
    br.ok("run", "-d", "--name", "rnd", "--net", "bridge", "-p", "80", "busybox", "sh", "-c", HTTPD.format(name="rnd"))
    port = int(br.ok("port", "rnd", "80").splitlines()[0].rsplit(":", 1)[1])
    assert port > 1024 and curl(f"http://127.0.0.1:{port}/") == "hello-rnd\n"
    before = br.save()
    proc = br("run", "--name", "clash", "--net", "bridge", "-p", f"{port}:80", "busybox", "true")
    assert proc.returncode == 125
    assert proc.stderr.strip().endswith(f"Bind for 0.0.0.0:{port} failed: port is already allocated")
    assert br.save().count("-A ") == before.count("-A ")
    assert len(proxies(port)) == 2
    assert br.ok("inspect", "-f", "{{.State.Status}}", "clash") == "created\n"
    br.ok("rm", "clash")
    # a port held by another program on the host: the proxy's bind fails, nothing is left
    import socket
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    try:
        proc = br("run", "--rm", "--net", "bridge", "-p", f"{busy}:80", "busybox", "true")
        assert proc.returncode == 125 and "address already in use" in proc.stderr
        assert proxies(busy) == []
        assert f"--dport {busy}" not in br.save()
    finally:
        holder.close()
    br.ok("rm", "-f", "rnd")


UDP_ECHO_C = r"""
#include <sys/socket.h>
#include <netinet/in.h>
int main(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {0}, c;
    a.sin_family = AF_INET; a.sin_port = htons(5000);
    bind(s, (void *)&a, sizeof a);
    for (char b[512];;) {
        socklen_t l = sizeof c;
        int n = recvfrom(s, b, sizeof b, 0, (void *)&c, &l);
        if (n > 0) sendto(s, b, n, 0, (void *)&c, l);
    }
}
"""


def test_udp_publish(br, tmp_path):
    """busybox has no UDP server, so the test builds a static UDP echo and imports it as an image."""
    import socket

    from tests.helpers.cimage import static_program_image
    static_program_image(br, tmp_path, "udpecho", UDP_ECHO_C)
    port = random.randrange(30000, 40000)
    br.ok("run", "-d", "--name", "udp", "--net", "bridge", "-p", f"{port}:5000/udp", "udpecho:1", "/udpecho")
    reply, deadline = None, time.monotonic() + 5
    while reply is None and time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.5)
            s.sendto(b"ping-udp", ("127.0.0.1", port))
            try:
                reply = s.recv(100)
            except TimeoutError:
                pass
    assert reply == b"ping-udp"
    save = br.save()
    assert f"-p udp -m udp --dport {port} -j DNAT" in save
    br.ok("rm", "-f", "udp")


def test_outside_client_through_dnat(br, outside_client):
    ns, host_side = outside_client
    port = random.randrange(40000, 45000)
    br.ok("run", "-d", "--name", "ext", "--net", "bridge", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="ext"))
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-ext\n"  # PREROUTING DNAT + FORWARD accept
    # the client's address is kept (DNAT, not the proxy): httpd logs nothing, so ask conntrack-free: the container
    # sees the connection from the client's address in /proc/net/tcp while it lasts; checking the rule counter instead
    save = br.iptables("-t", "nat", "-L", br.prefix, "-v", "-n", "-x").stdout
    dnat = [line for line in save.splitlines() if f"dpt:{port}" in line]
    assert dnat and int(dnat[0].split()[0]) >= 1  # packets really went through our DNAT rule
    br.ok("rm", "-f", "ext")


def test_net_container_joins_another_containers_namespace(br):
    br.ok("run", "-d", "--name", "base", "busybox", "sh", "-c", HTTPD.format(name="base"))
    ip = _inspect(br, "base", "{{.NetworkSettings.IPAddress}}")
    out = br.ok("run", "--rm", "--net", "container:base", "busybox", "sh", "-c",
                "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/")
    assert f"inet {ip}/16" in out and out.endswith("hello-base\n")  # same eth0, same loopback
    proc = br("run", "--rm", "--net", "container:base", "-p", "80", "busybox", "true")
    assert proc.returncode == 125 and "conflicting options: port publishing and the container type network mode" in proc.stderr
    proc = br("run", "--rm", "--net", "container:nosuch", "busybox", "true")
    assert proc.returncode == 125 and "No such container: nosuch" in proc.stderr
    br.ok("stop", "-t", "0", "base")
    proc = br("run", "--rm", "--net", "container:base", "busybox", "true")
    assert proc.returncode == 125 and "cannot join network of a non running container" in proc.stderr
    br.ok("rm", "base")


def test_user_networks_are_isolated_from_each_other(br):
    a_net, b_net = f"10.{random.randrange(150, 199)}.1.0/24", f"10.{random.randrange(150, 199)}.2.0/24"
    br.ok("network", "create", "--subnet", a_net, "neta")
    br.ok("network", "create", "--subnet", b_net, "netb")
    assert [line.split()[1] for line in br.ok("network", "ls").splitlines()[1:]] == ["bridge", "host", "neta", "netb", "none"]
    br.ok("run", "-d", "--name", "a1", "--net", "neta", "busybox", "sh", "-c", HTTPD.format(name="a1"))
    a1 = _inspect(br, "a1", "{{.NetworkSettings.Networks.neta.IPAddress}}")
    assert a1 == a_net.replace(".0/24", ".2")
    bridge_a = json.loads(br.ok("network", "inspect", "neta"))[0]["Options"]["com.docker.network.bridge.name"]
    assert re.fullmatch(r"br-[0-9a-f]{12}", bridge_a) and os.path.exists(f"/sys/class/net/{bridge_a}")
    # same network: reachable; other network: dropped by the isolation chains
    # (wget runs as a child of sh: as pid 1 it would ignore the SIGTERM that `timeout` sends)
    fetch = f"timeout 3 wget -qO- http://{a1}/; echo rc=$?"
    assert br.ok("run", "--rm", "--net", "neta", "busybox", "sh", "-c", fetch) == "hello-a1\nrc=0\n"
    out = br.ok("run", "--rm", "--net", "netb", "busybox", "sh", "-c", fetch)
    assert "hello" not in out and "rc=0" not in out
    save = br.save()
    assert f"-A {br.prefix}-ISOLATION-STAGE-2 -o {bridge_a} -j DROP" in save
    proc = br("network", "rm", "neta")
    assert proc.returncode == 1 and "has active endpoints" in proc.stderr
    br.ok("rm", "-f", "a1")
    assert br.ok("network", "rm", "neta", "netb") == "neta\nnetb\n"
    assert not os.path.exists(f"/sys/class/net/{bridge_a}")
    assert bridge_a not in br.save()
    proc = br("run", "--rm", "--net", "neta", "busybox", "true")
    assert proc.returncode == 125 and "network neta not found" in proc.stderr


def test_teardown_of_a_reaped_container_ignores_the_userland_proxy_flag(br):
    """The flag is a creation-time choice: a command run with the other value must still reap a
    dead container of a proxy-mode network and free its lease (teardown enforces no policy)."""
    br.ok("run", "-d", "--name", "px", "busybox", "sleep", "100")
    state = json.load(open(os.path.join(br.root, "containers", _inspect(br, "px", "{{.Id}}"), "container.json")))
    os.kill(state["supervisor"]["pid"], signal.SIGKILL)
    time.sleep(0.3)
    proc = br("--userland-proxy=false", "ps", "-a")
    assert proc.returncode == 0, proc.stderr
    assert "Exited (" in proc.stdout
    leases = os.listdir(os.path.join(br.root, "networks", "bridge", "leases"))
    assert [x for x in leases if x[0].isdigit()] == []
    br.ok("rm", "px")
