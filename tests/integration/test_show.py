"""The pictures: `network show` as text and SVG, and the annotated rules view, against real state."""

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

from minicontainer.network.backends import BACKENDS
from tests.integration.nethelp import curl


def _setup(mc):
    mc.ok("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "httpd", "-f", "-p", "80")
    mc.ok("run", "-d", "--name", "cache", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "hostbox", "--net", "host", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "lonely", "--net", "none", "busybox", "sleep", "300")
    port = mc.ok("port", "web", "80").split(":")[-1].strip()
    return port, sorted(os.listdir(f"/sys/class/net/{mc.bridge}/brif"))


def test_network_show_text_and_svg_name_everything_there_is(mc, tmp_path):
    port, veths = _setup(mc)
    assert len(veths) == 2
    text = mc.ok("network", "show")
    for expected in ["web", "cache", "hostbox", "lonely", mc.bridge, *veths, f"127.0.0.1:{port}/tcp", "--net host",
                     "--net none"]:
        assert expected in text, expected
    web_ip = mc.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").strip()
    assert f"127.0.0.1:{port}/tcp ──DNAT──▶ {web_ip}:80" in text
    mc.ok("network", "show", "--format", "svg", "-o", str(tmp_path / "net.svg"))
    root = ET.parse(tmp_path / "net.svg").getroot()  # well-formed, or this raises
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    words = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for expected in ["container web", "container cache", "container hostbox", "container lonely",
                     f"bridge {mc.bridge}", *veths, f"127.0.0.1:{port}/tcp", f"DNAT → {web_ip}:80"]:
        assert expected in words, expected
    assert curl(f"http://127.0.0.1:{port}/") is not None  # the port drawn is the port that serves


def test_network_show_flags_a_veth_missing_from_the_kernel(mc):
    _, veths = _setup(mc)
    subprocess.run(["ip", "link", "del", veths[0]], check=True)  # behind the runtime's back
    assert "veth missing from the kernel" in mc.ok("network", "show")


def test_rules_view_annotates_every_rule_of_ours(mc):
    port, _ = _setup(mc)
    view = mc.ok("network", "rules")
    lines = view.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("-A")]
    assert rules
    for i in rules:  # each rule follows a comment saying what it is for
        assert lines[i - 1].startswith("# ") and "?" not in lines[i - 1][:4], lines[i]
    dnat = next(i for i in rules if f"--dport {port} -j DNAT" in lines[i])
    assert lines[dnat - 1].startswith(f"# container web: 127.0.0.1:{port} -> 80/tcp")
    # everything the kernel holds with our prefix is shown
    save = mc.save()
    ours = [line for line in save.splitlines() if line.startswith("-A") and (mc.prefix in line or mc.bridge in line)]
    assert ours and all(line in lines for line in ours)
    assert "MISSING" not in view
    # a rule deleted behind our back is reported missing, and put back by the next other command
    mc.iptables("-t", "nat", "-D", *lines[dnat].split()[1:], check=True)
    assert "MISSING" in mc.ok("network", "rules")
    proc = mc("ps")
    assert "restored 1 firewall rules" in proc.stderr
    assert "MISSING" not in mc.ok("network", "rules")


def test_network_show_bad_input(mc):
    out = mc("network", "show", "nosuchnet")
    assert out.returncode == 125 and "network nosuchnet not found" in out.stderr
    out = mc("network", "show", "--format", "png")
    assert out.returncode == 1 and "unknown format" in out.stderr


def _counted(view: str, rule: str) -> int:
    """The packet count `network rules -c` shows for the rule whose line ends with `rule`."""
    lines = view.splitlines()
    i = next(i for i, line in enumerate(lines) if line.endswith(rule))
    return int(lines[i].split("]", 1)[0].lstrip("[").split(":")[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_counters_count_three_pings_and_zero_only_ours(mc, outside_client):
    """Three pings from a container to a client namespace outside the bridge: our "containers may
    go out" rule counts exactly three requests, the replies' rule three, MASQUERADE one (NAT sees a
    flow's first packet only). --zero zeroes ours and no other tool's rule in the same chain."""
    ns, host_side = outside_client
    client = host_side.rsplit(".", 1)[0] + "." + str(int(host_side.rsplit(".", 1)[1]) + 1)
    theirs = f"MCF{mc.bridge[3:]}"
    mc.ok("run", "-d", "--name", "pinger", "busybox", "sleep", "300")
    mc.iptables("-N", theirs, check=True)
    mc.iptables("-A", theirs, "-j", "RETURN", check=True)
    mc.iptables("-I", "FORWARD", "1", "-i", mc.bridge, "-j", theirs, check=True)  # moves every rule of ours down one
    try:
        mc.ok("network", "rules", "--zero")
        assert mc.ok("exec", "pinger", "ping", "-c", "3", "-W", "2", client).count("bytes from") == 3
        view = mc.ok("network", "rules", "--counters")
        assert _counted(view, f"-A FORWARD -i {mc.bridge} ! -o {mc.bridge} -j ACCEPT") == 3
        assert _counted(view, f"-A FORWARD -o {mc.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT") == 3
        assert _counted(view, f"-A POSTROUTING -s {mc.net}.0.0/16 ! -o {mc.bridge} -j MASQUERADE") == 1
        zeroed = mc("network", "rules", "--zero")
        assert all(_counted(zeroed.stdout, line) == 0 for line in (f"-i {mc.bridge} ! -o {mc.bridge} -j ACCEPT",
                                                                    "--ctstate RELATED,ESTABLISHED -j ACCEPT"))
        assert "-Z FORWARD 1\n" not in zeroed.stderr  # their rule is FORWARD's first: never zeroed by us
        theirs_count = mc.save("-c", "-t", "filter")
        assert f"[3:252] -A FORWARD -i {mc.bridge} -j {theirs}" in theirs_count
    finally:
        mc.iptables("-D", "FORWARD", "-i", mc.bridge, "-j", theirs)
        mc.iptables("-F", theirs)
        mc.iptables("-X", theirs)
    mc.ok("rm", "-f", "pinger")
