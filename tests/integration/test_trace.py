"""`trace`: a real flow's packets followed through the kernel's nf_tables chains (our rules in
nf_tables), with our rules named, the addresses as NAT changes them, and nothing left behind."""

import random
import subprocess

import pytest

from minicontainer.network.backends import LEGACY, NFT
from tests.integration.nethelp import HTTPD


@pytest.mark.parametrize("backend", [NFT])
def test_a_request_from_outside_through_the_published_port(br, outside_client):
    ns, host_side = outside_client
    port = random.randrange(20000, 30000)
    br.ok("run", "-d", "--name", "tw", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="tw"))
    ip = br.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "tw").strip()
    out = br("trace", "--to", "tw:80", "--count", "1", "--", "ip", "netns", "exec", ns, "curl", "-s",
             "--max-time", "3", f"http://{host_side}:{port}/", timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "hello-tw" in text  # the probe's own output comes first
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("packet 1: tcp "))
    assert f"-> {host_side}:{port} [syn]" in lines[head]
    way = lines[head + 1:]
    dnat = next(i for i, line in enumerate(way) if f"dnat to {ip}:80" in line)
    assert way[dnat].split()[:3] == ["ip", "nat", br.prefix]
    assert f"# ours: container tw: 0.0.0.0:{port} -> 80/tcp: DNAT" in way[dnat + 1]
    forward = next(i for i, line in enumerate(way) if line.split()[:3] == ["ip", "filter", "FORWARD"])
    assert forward > dnat and f"-> {ip}:80" in way[forward] and "the addresses changed" in way[forward]
    accept = next(i for i, line in enumerate(way) if line.split()[:3] == ["ip", "filter", br.prefix])
    assert accept > forward and f"ip daddr {ip} tcp dport 80 accept" in way[accept]  # into the bridge
    assert "# ours: container tw" in way[accept + 1]
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert "minicontainer_trace" not in tables  # the marking table went with the trace
    br.ok("rm", "-f", "tw")


def test_a_trace_that_sees_nothing_says_so_and_leaves_nothing(mc):
    mc.ok("run", "-d", "--name", "idle", "-p", "80", "busybox", "sleep", "300")
    out = mc("trace", "--to", "idle:80", "--timeout", "1")
    assert out.returncode == 1 and "no packet of this flow was seen in 1 s" in out.stderr
    assert "minicontainer_trace" not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    mc.ok("rm", "-f", "idle")


@pytest.mark.parametrize("argv, message", [
    (["trace", "--to", "nosuch:80"], "Error response from daemon: No such container: nosuch"),
    (["trace", "--to", "10.0.0.1:0"], "invalid destination port: 0"),
    (["trace", "--to", "10.0.0.1"], "--to 10.0.0.1: an address needs a port (ADDR:PORT), or --proto icmp"),
    (["trace"], "trace needs --to CONTAINER[:PORT] or --to ADDR:PORT"),
    (["trace", "--to", "idle2:80", "--to", "10.0.0.1:80"], "trace follows one flow: one --to (got idle2:80, 10.0.0.1:80)"),
    (["trace", "--to", "10.0.0.1:80", "--proto", "gre"], "invalid --proto gre: tcp, udp or icmp"),
])
def test_bad_trace_input(mc, argv, message):
    out = mc(*argv)
    assert out.returncode in (1, 125) and message in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("backend", [LEGACY])
def test_on_the_legacy_backend_the_trace_says_what_it_cannot_see(br):
    br.ok("run", "-d", "--name", "lg", "-p", "80", "busybox", "sleep", "300")
    out = br("trace", "--to", "lg:80", "--timeout", "1")
    assert "our rules are in the legacy iptables backend, which nf_tables tracing cannot see" in out.stderr
    br.ok("rm", "-f", "lg")


def test_a_trace_killed_in_the_middle_is_cleaned_by_the_next_command(mc):
    import os
    import signal
    import time
    mc.ok("run", "-d", "--name", "kt", "-p", "80", "busybox", "sleep", "300")
    tracer = mc.popen("trace", "--to", "kt:80", "--timeout", "30", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def tables() -> str:
        return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    deadline = time.monotonic() + 10
    while "minicontainer_trace" not in tables() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"minicontainer_trace_{tracer.pid}_" in tables()
    os.kill(tracer.pid, signal.SIGKILL)
    tracer.wait()
    # its `nft monitor trace` dies with it (PR_SET_PDEATHSIG): the residue check would see it otherwise
    mc.ok("ps")
    assert "minicontainer_trace" not in tables()
    assert os.listdir(os.path.join(mc.root, "traces")) == []
    mc.ok("rm", "-f", "kt")


def test_capture_sees_the_same_ping_inside_and_on_the_veth(mc):
    import json
    mc.ok("run", "-d", "--name", "cap", "busybox", "sleep", "300")
    data = json.loads(mc.ok("inspect", "cap"))[0]
    ip, gateway = data["NetworkSettings"]["IPAddress"], data["NetworkSettings"]["Gateway"]
    inside = mc.popen("capture", "-c", "2", "cap", "icmp", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outside = mc.popen("capture", "--host-side", "-c", "2", "cap", "icmp", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    import time
    time.sleep(1)  # tcpdump opens its socket
    assert mc.ok("exec", "cap", "ping", "-c", "1", "-W", "2", gateway).count("bytes from") == 1
    seen = [p.communicate(timeout=20) for p in (inside, outside)]
    for (out, err), where in zip(seen, ("-i eth0", "-i veth"), strict=True):
        assert f"{ip} > {gateway}: ICMP echo request" in out and f"{gateway} > {ip}: ICMP echo reply" in out
        assert err.startswith("+ ") and where in err.splitlines()[0]
    assert seen[0][1].startswith("+ nsenter --net=/proc/")
    out = mc("capture", "nosuch")
    assert out.returncode == 1 and out.stderr.strip() == "Error response from daemon: No such container: nosuch"
    mc.ok("rm", "-f", "cap")


@pytest.mark.parametrize("backend", [NFT])
def test_from_the_hosts_loopback_the_proxy_carries_it(br):
    """127.0.0.1: the OUTPUT hook's jump skips loopback (no DNAT), so the userland proxy answers
    and opens its own connection from the gateway to the container: both legs are traced."""
    br.ok("run", "-d", "--name", "lo1", "-p", "127.0.0.1::80", "busybox", "sh", "-c", HTTPD.format(name="lo1"))
    port = br.ok("port", "lo1", "80").split(":")[-1].strip()
    ip = br.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "lo1").strip()
    out = br("trace", "--to", "lo1:80", "--from", "host", "--count", "20", "--", "curl", "-s", "--max-time", "3",
             f"http://127.0.0.1:{port}/", timeout=60)
    assert out.returncode == 0 and "hello-lo1" in out.stdout, out.stderr
    heads = [line for line in out.stdout.splitlines() if line.startswith("packet ")]
    assert any("127.0.0.1:" in h and f"-> 127.0.0.1:{port} [syn]" in h for h in heads)  # the client's leg
    assert any(f"-> {ip}:80 [syn]" in h for h in heads)  # the proxy's own connection to the container
    first = out.stdout.split("packet 2:")[0]
    assert "ip nat OUTPUT" in first and "dnat to" not in first  # loopback: no DNAT, the proxy does it
    br.ok("rm", "-f", "lo1")


@pytest.mark.parametrize("backend", [NFT])
def test_a_container_going_out_is_masqueraded(br, outside_client):
    ns, host_side = outside_client
    client = host_side.rsplit(".", 1)[0] + "." + str(int(host_side.rsplit(".", 1)[1]) + 1)
    br.ok("run", "-d", "--name", "out1", "busybox", "sleep", "300")
    out = br("trace", "--to", client, "--proto", "icmp", "--from", "out1", "--count", "1", "--",
             *br.argv(), "exec", "out1", "ping", "-c", "1", "-W", "2", client, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    masq = next(i for i, line in enumerate(lines) if line.split()[:3] == ["ip", "nat", "POSTROUTING"]
                and "masquerade" in line)
    assert "# ours: network bridge: containers of" in lines[masq + 1]
    br.ok("rm", "-f", "out1")
