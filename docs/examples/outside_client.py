"""A published port probed from a client namespace, as from another machine on the host's LAN.

The request enters the host on the client's veth, so PREROUTING's DNAT rule sends it to the
container (its packet counter shows it); the host's own 127.0.0.1 goes through the userland proxy
instead. Measures the latency of both paths and of the container's address reached directly.

    sudo /opt/minicontainer/venv/bin/python docs/examples/outside_client.py
"""

import statistics
import subprocess
import time
import urllib.request

import minicontainer
from minicontainer.outside import OutsideHost

SERVE = "mkdir -p /www && echo published > /www/index.html && exec httpd -f -p 80 -h /www"
REQUESTS = 50


def median_ms(fetch) -> float:
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        body = fetch()
        times.append((time.perf_counter() - start) * 1000)
        assert body == b"published\n", body
    return statistics.median(times)


def local_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.read()


def dnat_packets(chain: str, port: int) -> int:
    # `iptables`: the sandbox's rules are in the backend the host's iptables is (as Docker's)
    table = subprocess.run(["iptables", "-t", "nat", "-L", chain, "-n", "-v", "-x"],
                           capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[0]) for line in table.splitlines() if f"dpt:{port}" in line)


def main() -> None:
    with minicontainer.sandbox() as mc, OutsideHost() as lan_client:
        with mc.run("busybox", ["sh", "-c", SERVE], ports=["80"]) as web:
            web.wait_listening(80)
            port = web.host_port(80)
            chain = mc.isolation.chain_prefix  # our DOCKER chain
            print(f"container {web.short_id} at {web.ip}, published on host port {port}")
            print(f"client namespace {lan_client.name}: {lan_client.address} -> host {lan_client.host_address}")

            before = dnat_packets(chain, port)
            outside = median_ms(lambda: lan_client.http_get(f"http://{lan_client.host_address}:{port}/")[1])
            counted = dnat_packets(chain, port) - before
            print(f"from the client namespace (DNAT): median {outside:.2f} ms; DNAT rule matched {counted} packets")
            assert counted >= REQUESTS  # one new connection per request, each DNATed once

            proxied = median_ms(lambda: local_get(f"http://127.0.0.1:{port}/"))
            print(f"from the host's 127.0.0.1 (userland proxy): median {proxied:.2f} ms")
            direct = median_ms(lambda: local_get(f"http://{web.ip}/"))
            print(f"from the host to {web.ip}:80 directly (no NAT): median {direct:.2f} ms")


if __name__ == "__main__":
    main()
