"""--userland-proxy=false (the kernel does published ports) and a host whose nf_tables forward chain drops."""

import random
import socket
import subprocess

import pytest

from minicontainer.network.backends import BACKENDS
from tests.integration.nethelp import HTTPD, curl, host_address, proxies

# Each test runs with our rules in nf_tables (through iptables-nft) and in the legacy tables.
pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def test_kernel_path_without_userland_proxy(br, outside_client):
    ns, host_side = outside_client
    port = random.randrange(45000, 50000)
    br.ok("--userland-proxy=false", "run", "-d", "--name", "kp", "-p", f"{port}:80", "busybox", "sh", "-c",
          HTTPD.format(name="kp"))
    ip = br.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "kp").strip()
    # no proxy process: loopback, the host address, an outside client and the container itself (hairpin)
    assert proxies(port) == []
    assert curl(f"http://127.0.0.1:{port}/") == "hello-kp\n"
    assert curl(f"http://{host_address()}:{port}/") == "hello-kp\n"
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-kp\n"
    assert br.ok("exec", "kp", "wget", "-qO-", f"http://{host_address()}:{port}/") == "hello-kp\n"
    # the rules Docker uses in this mode, and the kernel settings that make loopback and hairpin work
    save = br.save()
    assert f"-A OUTPUT -m addrtype --dst-type LOCAL -j {br.prefix}" in save  # no `! -d 127.0.0.0/8`
    assert f"-A POSTROUTING -o {br.bridge} -m addrtype --src-type LOCAL -j MASQUERADE" in save
    assert f"-A {br.prefix} -p tcp -m tcp --dport {port} -j DNAT --to-destination {ip}:80" in save  # no `! -i`
    assert open(f"/proc/sys/net/ipv4/conf/{br.bridge}/route_localnet").read().strip() == "1"
    veth = [v for v in subprocess.run(["ls", f"/sys/class/net/{br.bridge}/brif"], capture_output=True,
                                      text=True).stdout.split()]
    assert [open(f"/sys/class/net/{v}/brport/hairpin_mode").read().strip() for v in veth] == ["1"]
    # the port is still ours on the host, as with Docker's dummy proxy
    assert not _bindable(port)
    assert br.ok("port", "kp", "80") == f"0.0.0.0:{port}\n"  # no [::] entry without a proxy, as in Docker
    # the mode belongs to the network: asking for the other one is an error, not a silent mix
    proc = br("--userland-proxy=true", "run", "--rm", "busybox", "true")
    assert proc.returncode == 125 and "was set up with --userland-proxy=false" in proc.stderr
    br.ok("rm", "-f", "kp")
    assert _bindable(port) and f"--dport {port}" not in br.save()


def _nft(*args: str) -> str:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def nft_forward_drop(br):
    """An nf_tables forward chain with policy drop, as iptables-nft leaves it on a Docker host."""
    table = f"mcdrop{br.bridge[3:]}"
    _nft("add", "table", "inet", table)
    try:
        _nft("add", "chain", "inet", table, "fwd_drop", "{ type filter hook forward priority 0; policy drop; }")
        yield table
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)


def test_traffic_flows_past_an_nftables_forward_drop(br, outside_client, nft_forward_drop):
    ns, host_side = outside_client
    port = random.randrange(50000, 55000)
    br.ok("run", "-d", "--name", "nf", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="nf"))
    chain = _nft("list", "chain", "inet", nft_forward_drop, "fwd_drop")
    assert f'iifname "{br.bridge}" accept' in chain and f'oifname "{br.bridge}" accept' in chain
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-nf\n"  # forwarded: crosses both backends
    # without our accepts the same request dies in the nf_tables chain: the drop policy is really in the path
    handles = [line.rsplit("# handle ", 1)[1] for line in _nft("-a", "list", "chain", "inet", nft_forward_drop,
                                                               "fwd_drop").splitlines() if f'"{br.bridge}"' in line]
    for handle in handles:
        _nft("delete", "rule", "inet", nft_forward_drop, "fwd_drop", "handle", handle)
    assert curl(f"http://{host_side}:{port}/", netns=ns, timeout=2) == ""
    br.ok("rm", "-f", "nf")
    # put them back, then check that network rm takes exactly them away again
    _nft("insert", "rule", "inet", nft_forward_drop, "fwd_drop", "iifname", br.bridge, "accept")
    br.ok("network", "rm", "--predefined", "bridge")
    assert br.bridge not in _nft("list", "chain", "inet", nft_forward_drop, "fwd_drop")
