"""TCP throughput through a published port, next to the direct path to the container (iperf3).

Paths measured (all on this machine):
  direct, host -> container IP               the baseline for loopback
  userland proxy, 127.0.0.1:PORT             default mode: our proxy process copies the bytes
  kernel, 127.0.0.1:PORT                     --userland-proxy=false: DNAT in nat OUTPUT
  direct, client netns -> container IP       the baseline for an outside client (one forward hop)
  kernel, client netns -> host:PORT          DNAT in nat PREROUTING, then the same forward hop
The server is iperf3 in a container made from the host's own iperf3 binary and its libraries.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tempfile
import time

SECONDS = 3
CLIENT_NS, CLIENT_IF, CLIENT_NET = "mcbenchc", "mcbenchch", "10.252.77"


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            libs.append(path)
    return libs


def import_iperf3_image(mc: list[str], env: dict) -> str:
    """An image holding /usr/bin/iperf3 and exactly the shared libraries it loads."""
    binary = "/usr/bin/iperf3"
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = os.path.join(tmp, "iperf3.tar")
        with tarfile.open(tar_path, "w") as tar:
            tmpdir = tarfile.TarInfo("tmp")  # iperf3 keeps its send buffer in a file it creates in /tmp
            tmpdir.type, tmpdir.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(tmpdir)
            for path in [binary, *_libraries(binary)]:
                tar.add(os.path.realpath(path), arcname=path.lstrip("/"))  # the file itself, under the linked name
        subprocess.run([*mc, "import", tar_path, "iperf3:bench"], env=env, check=True, stdout=subprocess.DEVNULL)
    return "iperf3:bench"


def _iperf(host: str, port: int, netns: str | None = None) -> float:
    """Gbit/s received, one TCP stream, after the server answers."""
    cmd = (["ip", "netns", "exec", netns] if netns else []) + \
        ["iperf3", "-c", host, "-p", str(port), "-t", str(SECONDS), "-J"]
    for _ in range(50):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            return json.loads(proc.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9
        time.sleep(0.1)  # the server is not listening yet
    raise RuntimeError(f"iperf3 to {host}:{port} failed: {proc.stdout[-300:]}")


def _server(mc: list[str], env: dict, image: str, name: str) -> tuple[str, int]:
    subprocess.run([*mc, "run", "-d", "--name", name, "-p", "5201", image, "/usr/bin/iperf3", "-s"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    ip = subprocess.run([*mc, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name], env=env, check=True,
                        capture_output=True, text=True).stdout.strip()
    port = subprocess.run([*mc, "port", name, "5201"], env=env, check=True, capture_output=True,
                          text=True).stdout.splitlines()[0].rsplit(":", 1)[1]
    return ip, int(port)


def _client_netns() -> str:
    """A namespace playing a machine outside, wired to the host by a veth pair; returns the host's side."""
    run = lambda *a: subprocess.run(a, check=True)  # noqa: E731
    run("ip", "netns", "add", CLIENT_NS)
    run("ip", "link", "add", CLIENT_IF, "type", "veth", "peer", "name", "eth0", "netns", CLIENT_NS)
    run("ip", "addr", "add", f"{CLIENT_NET}.1/30", "dev", CLIENT_IF)
    run("ip", "link", "set", CLIENT_IF, "up")
    for cmd in (["ip", "addr", "add", f"{CLIENT_NET}.2/30", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
                ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", f"{CLIENT_NET}.1"]):
        run("ip", "netns", "exec", CLIENT_NS, *cmd)
    return f"{CLIENT_NET}.1"


def _remove_client_netns() -> None:
    subprocess.run(["ip", "link", "del", CLIENT_IF], capture_output=True)
    subprocess.run(["ip", "netns", "del", CLIENT_NS], capture_output=True)


def throughput(mc: list[str], env: dict) -> list[tuple[str, float]]:
    """Returns (label, Gbit/s) per path; every container, network and namespace is removed again."""
    image = import_iperf3_image(mc, env)
    proxy_env = dict(env)
    kernel_env = {**env, "MINICONTAINER_ROOT": env["MINICONTAINER_ROOT"] + "-kernel", "MINICONTAINER_BRIDGE": "mcbench1",
                  "MINICONTAINER_SUBNET": "10.251.0.0/16", "MINICONTAINER_CHAIN_PREFIX": "MCBENCHK",
                  "MINICONTAINER_USERLAND_PROXY": "false"}
    results = []
    try:
        host_side = _client_netns()
        ip, port = _server(mc, proxy_env, image, "iperf-proxy")
        results.append(("direct, host -> container IP", _iperf(ip, 5201)))
        results.append(("userland proxy, 127.0.0.1:PORT", _iperf("127.0.0.1", port)))
        results.append(("direct, client netns -> container IP", _iperf(ip, 5201, CLIENT_NS)))
        results.append(("kernel DNAT, client netns -> host:PORT", _iperf(host_side, port, CLIENT_NS)))
        import_iperf3_image(mc, kernel_env)
        kip, kport = _server(mc, kernel_env, image, "iperf-kernel")
        results.append(("direct, host -> container IP (kernel-mode network)", _iperf(kip, 5201)))
        results.append(("kernel DNAT, 127.0.0.1:PORT (--userland-proxy=false)", _iperf("127.0.0.1", kport)))
    finally:
        for e, name in ((proxy_env, "iperf-proxy"), (kernel_env, "iperf-kernel")):
            subprocess.run([*mc, "rm", "-f", name], env=e, capture_output=True)
        subprocess.run([*mc, "network", "rm", "--predefined", "bridge"], env=kernel_env, capture_output=True)
        subprocess.run(["rm", "-rf", kernel_env["MINICONTAINER_ROOT"]])
        _remove_client_netns()
    return results
