"""Show the work, proven: what `explain` prints, replayed with the real ip / iptables / mount /
sysctl / unshare, builds the same kernel state as the runtime (our rules on either backend);
--dry-run changes nothing."""

import json
import os
import random
import re
import subprocess
import time

import psutil
import pytest

from minicontainer.network.backends import BACKENDS
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


def _rules(mc, others: tuple = ()) -> list[str]:
    """Our rules in iptables-save form (no counters), both tables; others: (bridge, subnet prefix)
    of networks besides the default."""
    marks = [mc.prefix, mc.bridge, mc.net + "."] + [m for other in others for m in other]
    out = []
    for table in ("nat", "filter"):
        save = mc.save("-t", table)
        out += [f"{table} {line}" for line in save.splitlines()
                if any(m in line for m in marks) and not line.startswith("#")]
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


def snapshot(mc, netns: str, init_pid: int, port: int, others: tuple = ()) -> dict:
    """The kernel state one container start built: links, addresses, routes, rules, sysctls, mounts;
    others: (bridge, subnet prefix) of the networks it joined besides the default."""
    bridges = [b for b in [mc.bridge] + [bridge for bridge, _ in others] if os.path.exists(f"/sys/class/net/{b}")]
    in_ns = ["-n", netns]
    return {
        "host links": [link for b in bridges for link in _links("dev", b) + _links("master", b)],
        "host veth names": [sorted(os.listdir(f"/sys/class/net/{b}/brif")) for b in bridges],
        "bridge addresses": [_addrs("dev", b) for b in bridges],
        "host routes": [_clean(r) for b in bridges for r in _ip_json("route", "show", "dev", b)],
        "container links": [_clean(x) for x in _ip_json(*in_ns, "-d", "link")],
        "container addresses": [sorted((a["local"], a["prefixlen"], a.get("broadcast", ""))
                                       for a in link.get("addr_info", []) if a["family"] == "inet")
                                for link in _ip_json(*in_ns, "addr")],
        "container routes": [_clean(r) for r in _ip_json(*in_ns, "route")],
        "container MAC": [link["address"] for link in _ip_json(*in_ns, "link") if link["ifname"] == "eth0"],
        "container rules": [re.sub(r" \[\d+:\d+\]$", "", line)  # without the policies' packet counters
                            for line in subprocess.run(["ip", "netns", "exec", netns, f"iptables-{mc.backend}-save"],
                                                       capture_output=True, text=True).stdout.splitlines()
                            if line[:1] in "-:*"],
        "container listeners": sorted(subprocess.run(["ip", "netns", "exec", netns, "ss", "-Hlnut"], capture_output=True,
                                                     text=True).stdout.split("\n")),
        "rules": _rules(mc, others),
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


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("later", ["", "connect-disconnect", "user-network"])
def test_explain_replays_to_the_same_kernel_state(mc, tmp_path, later):
    """later: after the start, connect a network that takes the default route and the ports
    (--gw-priority 1) and so gets the embedded DNS server, then disconnect the default bridge; or
    start on that network: explain replays those too."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text(PAGE)
    port = _free_port()
    others: tuple = ()
    if later:
        subnet = f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}"
        mc.ok("network", "create", "--subnet", f"{subnet}.0/24", "lab")
        lab = json.loads(mc.ok("network", "inspect", "lab"))[0]["Options"]["com.docker.network.bridge.name"]
        others = ((lab, subnet + "."),)
    network = "lab" if later == "user-network" else "bridge"
    run = mc("run", "--explain", "-d", "--name", "web", "--network", network, "-p", f"{port}:80", "-v",
             f"{www}:/www:ro", "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
    assert run.returncode == 0, run.stderr
    cid = run.stdout.strip()
    bridge = others[0][0] if network == "lab" else mc.bridge
    assert "ip link add " + bridge + " type bridge" in run.stderr  # --explain printed the steps as applied
    assert ("minicontainer-resolver" in run.stderr) == (network == "lab")
    script = mc.ok("explain", "web")
    assert script == run.stderr.replace("# run: container web", "# what `minicontainer` did to start container web")
    assert curl(f"http://127.0.0.1:{port}/") == PAGE
    if later == "connect-disconnect":
        mc.ok("network", "connect", "--gw-priority", "1", "lab", "web")
        mc.ok("network", "disconnect", "bridge", "web")
        script = mc.ok("explain", "web")
        for change in ("network connect lab", "network disconnect bridge"):
            assert f"# ==== later, while it ran: {change}" in script
        assert script.count("minicontainer-resolver ") == 1  # its first user-defined network: the DNS server
        assert curl(f"http://127.0.0.1:{port}/") == PAGE  # through the ports that moved to lab
    pid = int(mc.ok("inspect", "-f", "{{.State.Pid}}", "web"))
    netns = cid[:12]
    built = snapshot(mc, netns, pid, port, others)
    assert built["rules"] and built["mounts"] and built["listeners"]
    assert ("DOCKER_OUTPUT" in "".join(built["container rules"])) == bool(later)

    # Tear the runtime's build down, keeping the teardown it explains, then replay the script.
    rm = mc("rm", "-f", "--explain", "web")
    assert rm.returncode == 0, rm.stderr
    names = {"": ["bridge"], "connect-disconnect": ["bridge", "lab"], "user-network": ["lab"]}[later]
    net_rms = [mc("network", "rm", "--explain", "--predefined", name) for name in names]
    for net_rm in net_rms:
        assert net_rm.returncode == 0, net_rm.stderr
    assert not os.path.exists(f"/sys/class/net/{mc.bridge}") and not _rules(mc, others)

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
        replayed = snapshot(mc, netns, init, port, others)
        for key in built:
            assert replayed[key] == built[key], key
    finally:
        # The teardown the runtime printed undoes the replayed build too (its kill names the runtime's
        # process, long gone: the replayed one goes by its own pid; unshare ignores SIGTERM).
        if replayed_pid:
            os.kill(replayed_pid, 9)
        teardown = [line for line in rm.stderr.splitlines() if not line.startswith("kill ")]
        undone = _run_script("\n".join(teardown).replace("set -e", ""))
        for net_rm in net_rms:
            _run_script(net_rm.stderr.replace("set -e", ""))
    assert undone.returncode == 0, undone.stderr
    assert not os.path.exists(f"/sys/class/net/{mc.bridge}"), "the explained teardown left the bridge"
    assert not _rules(mc, others), "the explained teardown left rules"
    assert not os.path.exists(f"/run/netns/{netns}")
    assert _listeners(port) == [], "the explained teardown left a proxy"


def _kernel_state(mc) -> dict:
    return {"links": sorted(os.listdir("/sys/class/net")), "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else [],
            "rules": mc.save().count("\n-A"),
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


def _state_files(mc) -> dict:
    """Every file of the state root but the container's log, with its content: records, leases, journals."""
    out = {}
    for top, _, files in os.walk(mc.root):
        for name in files:
            path = os.path.join(top, name)
            if os.path.islink(path):
                out[path] = os.readlink(path)
            # the firewall stamp (what the last rule check saw, network/repair.py) and the claims of
            # the records (store/claims.py) are caches, not state
            elif "/images/" not in path and not name.endswith((".log", ".lock", ".sock")) \
                    and name not in ("firewall-checked.json", "claims.json"):
                with open(path, "rb") as f:
                    out[path] = f.read()
    return out


def test_connect_and_disconnect_dry_runs_change_nothing(mc):
    subnet = f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}"
    mc.ok("network", "create", "--subnet", f"{subnet}.0/24", "lab")
    port = _free_port()
    mc.ok("run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", "sleep", "300")
    before, files = _kernel_state(mc), _state_files(mc)
    connect = mc.ok("network", "connect", "--dry-run", "--gw-priority", "1", "lab", "web")
    disconnect = mc.ok("network", "disconnect", "--dry-run", "bridge", "web")
    assert _kernel_state(mc) == before and _state_files(mc) == files
    assert list(json.loads(mc.ok("inspect", "web"))[0]["NetworkSettings"]["Networks"]) == ["bridge"]
    lab = json.loads(mc.ok("network", "inspect", "lab"))[0]["Options"]["com.docker.network.bridge.name"]
    pid = mc.ok("inspect", "-f", "{{.State.Pid}}", "web").strip()
    for expected in (f"pid={pid}", f"ip link add {lab} type bridge", f"master {lab} up type veth peer name eth1",
                     f"ip addr add {subnet}.2/24 brd + dev eth1", f"ip route replace default via {subnet}.1 dev eth1",
                     f"--dport {port} -j DNAT --to-destination {subnet}.2:80", f"-host-port {port} -container-ip {subnet}.2"):
        assert expected in connect, expected
    for expected in ("ip link del veth", f"rm -f {mc.root}/networks/bridge/leases/{mc.net}.0.2",
                     f"-D {mc.prefix} ! -i {mc.bridge} -p tcp -m tcp --dport {port} -j DNAT"):
        assert expected in disconnect, expected
    assert "ip route" not in disconnect and " -A " not in disconnect  # its only network: the ports just go
    for text in (connect, disconnect):
        assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0
    # The real connect does what its dry run said (the veth name is drawn anew).
    done = mc("network", "connect", "--explain", "--gw-priority", "1", "lab", "web").stderr

    def same(text: str) -> str:  # the veth name and the DNS server's ports are drawn anew
        text = re.sub(r"veth\w+", "VETH", text.split("\n", 2)[2])
        return re.sub(r"(--udp-port |--tcp-port |127\.0\.0\.11:|--sport )\d+", r"\1N", text)
    assert same(done).startswith(same("\n".join(ln for ln in connect.splitlines() if "lease" not in ln and
                                                "dry run: port 0" not in ln) + "\n"))
    assert "minicontainer-resolver" in connect  # lab is its first user-defined network
    mc.ok("stop", "-t", "0", "web")
    assert "the container is not running" in mc.ok("network", "disconnect", "--dry-run", "lab", "web")
    mc.ok("rm", "web")
    mc.ok("network", "rm", "lab")


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
    assert "ip link add" not in out.stderr and "--wait -t " not in out.stderr  # no host side here, no rules
