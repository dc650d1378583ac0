"""Show the work, proven: what `explain` prints, replayed with the real ip / iptables-legacy / mount /
sysctl / unshare, builds the same kernel state as the runtime; --dry-run changes nothing."""

import json
import os
import re
import subprocess
import time

import psutil
import pytest

from tests.integration.nethelp import curl

PAGE = "replayed-or-not\n"


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ip_json(*args: str) -> list:
    out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True).stdout
    return json.loads(out or "[]")


# Link attributes that differ between two builds of the same thing: kernel-chosen ids, random MACs,
# counters and timers.
_VOLATILE = re.compile(r"ifindex|link_index|link_netnsid|address|broadcast|stats|_id$|^id$|^no$|timer|designated|"
                       r"root|bridge_id|hash|group_fwd|^port$|altnames|txqlen|gso|gro|tso|parentbus|parentdev|"
                       r"perm_address|num_.x_queues|promiscuity|allmulti|min_mtu|max_mtu|operstate|linkmode|inet6_addr_gen")


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not _VOLATILE.search(k)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _links(*args: str) -> list:
    return [_clean(link) for link in _ip_json("-d", "link", "show", *args)]


def _addrs(*args: str) -> list:
    return [sorted((a["family"], a["local"], a["prefixlen"], a.get("broadcast", ""), a["scope"])
                   for a in link.get("addr_info", []) if a["family"] == "inet")
            for link in _ip_json("addr", "show", *args)]


def _rules(mc) -> list[str]:
    """Our rules in iptables-save form (no counters), both tables."""
    out = []
    for table in ("nat", "filter"):
        save = subprocess.run(["iptables-legacy-save", "-t", table], capture_output=True, text=True).stdout
        out += [f"{table} {line}" for line in save.splitlines()
                if (mc.prefix in line or mc.bridge in line or mc.net + "." in line) and not line.startswith("#")]
    return out


def _mounts(pid: int) -> list[tuple]:
    """The container's mount table as it sees it: mount point, fs type, source, options, propagation."""
    rows = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, (fstype, source, super_opts) = left.split(), right.split()
            propagation = sorted(re.sub(r":\d+", "", tag) for tag in fields[6:])
            rows.append((fields[4], fields[5], fstype, source, super_opts, tuple(propagation)))
    return rows


def _sysctl(key: str) -> str:
    try:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return "absent"


def _listeners(port: int) -> list[tuple]:
    return sorted({(c.laddr.ip, c.laddr.port) for c in psutil.net_connections("tcp")
                   if c.status == psutil.CONN_LISTEN and c.laddr.port == port})


def snapshot(mc, netns: str, init_pid: int, port: int) -> dict:
    """The kernel state one container start built: links, addresses, routes, rules, sysctls, mounts."""
    host_links = _links("dev", mc.bridge) + _links("master", mc.bridge)
    in_ns = ["-n", netns]
    return {
        "host links": host_links,
        "host veth names": sorted(os.listdir(f"/sys/class/net/{mc.bridge}/brif")),
        "bridge addresses": _addrs("dev", mc.bridge),
        "host routes": [_clean(r) for r in _ip_json("route", "show", "dev", mc.bridge)],
        "container links": [_clean(x) for x in _ip_json(*in_ns, "-d", "link")],
        "container addresses": [sorted((a["local"], a["prefixlen"], a.get("broadcast", ""))
                                       for a in link.get("addr_info", []) if a["family"] == "inet")
                                for link in _ip_json(*in_ns, "addr")],
        "container routes": [_clean(r) for r in _ip_json(*in_ns, "route")],
        "container MAC": [link["address"] for link in _ip_json(*in_ns, "link") if link["ifname"] == "eth0"],
        "rules": _rules(mc),
        "sysctls": {k: _sysctl(k) for k in ("net.ipv4.ip_forward", f"net.ipv6.conf.{mc.bridge}.accept_ra",
                                            f"net.ipv4.conf.{mc.bridge}.route_localnet")},
        "netns mounts": sorted(line.split()[1] for line in open("/proc/mounts") if f"/run/netns/{netns}" in line),
        "mounts": _mounts(init_pid),
        "hostname": subprocess.run(["nsenter", "-u", "-t", str(init_pid), "hostname"], capture_output=True,
                                   text=True).stdout,
        "listeners": _listeners(port),
    }


def _run_script(text: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINICONTAINER")}
    return subprocess.run(["sh", "-c", text], capture_output=True, text=True, env=env, timeout=60)


def test_explain_replays_to_the_same_kernel_state(mc, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text(PAGE)
    port = _free_port()
    run = mc("run", "--explain", "-d", "--name", "web", "-p", f"{port}:80", "-v", f"{www}:/www:ro",
             "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
    assert run.returncode == 0, run.stderr
    cid = run.stdout.strip()
    assert "ip link add " + mc.bridge + " type bridge" in run.stderr  # --explain printed the steps as applied
    script = mc.ok("explain", "web")
    assert script == run.stderr.replace("# run: container web", "# what `minicontainer` did to start container web")
    assert curl(f"http://127.0.0.1:{port}/") == PAGE
    pid = int(mc.ok("inspect", "-f", "{{.State.Pid}}", "web"))
    netns = cid[:12]
    built = snapshot(mc, netns, pid, port)
    assert built["rules"] and built["mounts"] and built["listeners"]

    # Tear the runtime's build down, keeping the teardown it explains, then replay the script.
    rm = mc("rm", "-f", "--explain", "web")
    assert rm.returncode == 0, rm.stderr
    net_rm = mc("network", "rm", "--explain", "--predefined", "bridge")
    assert net_rm.returncode == 0, net_rm.stderr
    assert not os.path.exists(f"/sys/class/net/{mc.bridge}") and not _rules(mc)

    replay = _run_script(script)
    replayed_pid = None
    try:
        assert replay.returncode == 0, replay.stderr
        replayed_pid = int(replay.stdout.split()[-1])
        deadline = time.monotonic() + 5
        while not psutil.Process(replayed_pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        init = psutil.Process(replayed_pid).children()[0].pid
        assert curl(f"http://127.0.0.1:{port}/") == PAGE  # the replayed container serves through its proxy
        replayed = snapshot(mc, netns, init, port)
        for key in built:
            assert replayed[key] == built[key], key
    finally:
        # The teardown the runtime printed undoes the replayed build too (its kill names the runtime's
        # process, long gone: the replayed one goes by its own pid; unshare ignores SIGTERM).
        if replayed_pid:
            os.kill(replayed_pid, 9)
        teardown = [line for line in rm.stderr.splitlines() if not line.startswith("kill ")]
        undone = _run_script("\n".join(teardown).replace("set -e", ""))
        _run_script(net_rm.stderr.replace("set -e", ""))
    assert undone.returncode == 0, undone.stderr
    assert not os.path.exists(f"/sys/class/net/{mc.bridge}"), "the explained teardown left the bridge"
    assert not _rules(mc), "the explained teardown left rules"
    assert not os.path.exists(f"/run/netns/{netns}")
    assert _listeners(port) == [], "the explained teardown left a proxy"


def _kernel_state(mc) -> dict:
    return {"links": sorted(os.listdir("/sys/class/net")), "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else [],
            "rules": subprocess.run(["iptables-legacy-save"], capture_output=True, text=True).stdout.count("\n-A"),
            "mounts": open("/proc/self/mountinfo").read().count("\n"),
            "ip_forward": _sysctl("net.ipv4.ip_forward")}


def test_dry_run_changes_nothing(mc, tmp_path):
    before = _kernel_state(mc)
    out = mc("run", "--dry-run", "-p", "8080:80", "-v", f"{tmp_path}/new:/data", "busybox", "true")
    assert out.returncode == 0, out.stderr
    assert _kernel_state(mc) == before
    assert not os.path.exists(tmp_path / "new")  # not even the -v source Docker would create
    assert mc.ok("ps", "-aq") == ""
    assert not os.path.exists(os.path.join(mc.root, "networks", "bridge"))
    text = out.stdout
    for expected in (f"ip link add {mc.bridge} type bridge", "--dport 8080 -j DNAT", "unshare --pid --mount --uts --ipc --net",
                     f"mount --rbind {tmp_path}/new $ctr/merged/data", "pivot_root . .", "exec env -i"):
        assert expected in text, expected
    assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0  # it parses as shell


def test_dry_run_needs_the_image_here(mc):
    out = mc("run", "--dry-run", "--pull", "never", "nosuchimage:1", "true")
    assert out.returncode == 125
    assert "--dry-run pulls nothing" in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("mode", ["none", "host"])
def test_explain_none_and_host_modes(mc, mode):
    out = mc("run", "--rm", "--explain", "--net", mode, "busybox", "true")
    assert out.returncode == 0, out.stderr
    unshare = next(line for line in out.stderr.splitlines() if line.startswith("unshare "))
    assert ("--net" in unshare) == (mode == "none")
    assert "ip link add" not in out.stderr and "iptables-legacy --wait" not in out.stderr  # no host side here
