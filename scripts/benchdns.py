"""The embedded DNS server, measured: a lookup of a container name through 127.0.0.11 from inside
another container's namespace (UDP, the DNAT to the listener included), and the memory a container's
supervisor holds with the server against one without it (a container on the default bridge).

Every query goes to 127.0.0.11 inside a namespace of ours; the upstream named is a loopback address
nothing answers on, so no query can leave the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

QUERIES = 2000
NETWORK, SUBNET = "mcbenchdns", "10.251.0.0/24"

# Run inside the asker's network namespace (nsenter --net): times each query's round trip.
_CLIENT = r"""
import socket, struct, sys, time
name = sys.argv[1].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("127.0.0.11", 53))
times = []
for n in range(int(sys.argv[2])):
    query = struct.pack("!HHHHHH", n & 0xFFFF, 0x0100, 1, 0, 0, 0) + bytes([len(name)]) + name + b"\0" + struct.pack("!HH", 1, 1)
    start = time.perf_counter()
    s.send(query)
    answer = s.recv(512)
    times.append(time.perf_counter() - start)
    assert answer[:2] == query[:2] and answer[7] == 1, answer
print(" ".join(f"{t:.7f}" for t in times))
"""


def _run(mc: list[str], env: dict, *args: str) -> str:
    return subprocess.run([*mc, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def _supervisor_rss(mc: list[str], env: dict, cid: str) -> float:
    import psutil
    pid = int(_run(mc, env, "inspect", "-f", "{{.State.Pid}}", cid))
    return psutil.Process(pid).parent().memory_info().rss / 2**20


def dns_figures(mc: list[str], env: dict, runs: int) -> tuple[list[float], list[float], float, float]:
    """(lookup times, `run --rm` times on the user-defined network, in seconds; supervisor RSS with the
    server, without it, in MiB)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf:
        conf.write("nameserver 127.77.77.77\n")  # nothing answers there: nothing is forwarded off the machine
    env = {**env, "MINICONTAINER_RESOLV_CONF": conf.name}
    _run(mc, env, "network", "create", "--subnet", SUBNET, NETWORK)
    ids = []
    try:
        ids.append(_run(mc, env, "run", "-d", "--network", NETWORK, "--name", "mcbench-target", "busybox", "sleep", "600"))
        ids.append(_run(mc, env, "run", "-d", "--network", NETWORK, "busybox", "sleep", "600"))
        ids.append(_run(mc, env, "run", "-d", "busybox", "sleep", "600"))  # the default bridge: no DNS server
        pid = _run(mc, env, "inspect", "-f", "{{.State.Pid}}", ids[1])
        out = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", _CLIENT,
                              "mcbench-target", str(QUERIES)], check=True, capture_output=True, text=True).stdout
        times = [float(t) for t in out.split()][QUERIES // 10:]  # the first tenth warms the caches
        starts = []
        for _ in range(runs):
            begin = time.perf_counter()
            subprocess.run([*mc, "run", "--rm", "--network", NETWORK, "busybox", "true"], env=env, check=True)
            starts.append(time.perf_counter() - begin)
        return times, starts, _supervisor_rss(mc, env, ids[1]), _supervisor_rss(mc, env, ids[2])
    finally:
        if ids:
            subprocess.run([*mc, "rm", "-f", *ids], env=env, capture_output=True)
        subprocess.run([*mc, "network", "rm", NETWORK], env=env, capture_output=True)
        os.unlink(conf.name)
