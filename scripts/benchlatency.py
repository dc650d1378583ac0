"""Request latency through each path to a published port, measured with the Python API: a
busybox httpd in a sandbox, 200 sequential HTTP GETs (a new connection each) per path."""

import statistics
import time
import urllib.request

import minicontainer
from minicontainer.outside import OutsideHost

REQUESTS = 200
SERVE = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www"


def _times(fetch) -> list[float]:
    out = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        fetch()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.read()


def latency() -> list[tuple[str, list[float]]]:
    with minicontainer.sandbox(kind="mcb") as mc, OutsideHost() as client:
        with mc.run("busybox", ["sh", "-c", SERVE], ports=["80"]) as web:
            web.wait_listening(80)
            port = web.host_port(80)
            return [
                ("userland proxy, host -> 127.0.0.1:PORT", _times(lambda: _get(f"http://127.0.0.1:{port}/"))),
                ("kernel DNAT, client netns -> host:PORT",
                 _times(lambda: client.http_get(f"http://{client.host_address}:{port}/"))),
                ("direct, host -> container IP:80", _times(lambda: _get(f"http://{web.ip}/"))),
            ]


def report(results) -> None:
    for label, times in results:
        times = sorted(times)
        print(f"  {label:<44} median {statistics.median(times):6.2f} ms   p90 {times[int(len(times) * 0.9)]:6.2f}")
