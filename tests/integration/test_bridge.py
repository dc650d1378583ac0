"""Bridge networking against the real kernel: addresses, veth, leases, rules, traffic (all on this machine)."""

import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from tests.unit.test_rules_golden import _reference, _split


@pytest.fixture
def br(mc):
    """A default network of the test's own: bridge name, subnet and chain prefix nobody else uses."""
    tag = f"{random.randrange(16**4):04x}"
    subnet_byte = random.randrange(200, 250)
    mc.env.update(MINICONTAINER_BRIDGE=f"mct{tag}", MINICONTAINER_SUBNET=f"10.{subnet_byte}.0.0/16",
                  MINICONTAINER_CHAIN_PREFIX=f"MCT{tag}")
    mc.bridge, mc.prefix, mc.net = f"mct{tag}", f"MCT{tag}", f"10.{subnet_byte}"
    yield mc
    ids = mc("ps", "-aq").stdout.split()
    if ids:
        mc("rm", "-f", *ids)
    mc("network", "rm", "bridge")
    assert not os.path.exists(f"/sys/class/net/{mc.bridge}"), "bridge left behind"
    save = subprocess.run(["iptables-legacy-save"], capture_output=True, text=True).stdout
    assert mc.prefix not in save and mc.bridge not in save, "iptables rules left behind"


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
    save = subprocess.run(["iptables-legacy-save"], capture_output=True, text=True).stdout
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
    br.ok("run", "-d", "--name", "v", "--net", "bridge", "busybox", "sleep", "100") if False else None
    br.ok("run", "-d", "--name", "vv", "--net", "bridge", "busybox", "sleep", "100")
    state = json.load(open(os.path.join(br.root, "containers", _inspect(br, "vv", "{{.Id}}"), "container.json")))
    sandbox = state["extra"]["endpoint"]["SandboxKey"]
    assert os.path.exists(sandbox) and len(_veths_on(br.bridge)) == 1
    os.kill(state["supervisor"]["pid"], signal.SIGKILL)
    time.sleep(0.3)
    assert "Exited (" in br.ok("ps", "-a")  # the next command reaps it ...
    assert not os.path.exists(sandbox) and _veths_on(br.bridge) == []  # ... and undoes its journal
    leases = os.listdir(os.path.join(br.root, "networks", "bridge", "leases"))
    assert [x for x in leases if x[0].isdigit()] == []
    br.ok("rm", "vv")
