"""The Engine API service against the CLI: `docker run --rm busybox true` through the socket beside
`minicontainer run --rm busybox true` (interleaved), and `docker ps` beside `minicontainer ps`.
The docker client is Debian's (scripts/setup); a service of the benchmark's own serves it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

DOCKER = os.environ.get("MINICONTAINER_DOCKER_CLIENT", "/opt/minicontainer/docker-client/docker")


def _wait_listening(path: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the API service did not listen")


def _time(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def api_figures(mc: list[str], env: dict, runs: int) -> dict[str, float] | None:
    """Medians in ms, or None without a docker client."""
    if not os.access(DOCKER, os.X_OK):
        return None
    directory = tempfile.mkdtemp(prefix="mcb", dir="/tmp")
    sock = os.path.join(directory, "docker.sock")
    service = subprocess.Popen([*mc, "system", "service", "--time", "0", f"unix://{sock}"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    denv = {**env, "DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": directory}
    try:
        _wait_listening(sock, service)
        docker = [DOCKER]
        subprocess.run([*docker, "run", "--rm", "busybox", "true"], env=denv, check=True)  # warm
        times: dict[str, list[float]] = {k: [] for k in ("cli run", "api run", "cli ps", "api ps")}
        for _ in range(runs):
            times["cli run"].append(_time([*mc, "run", "--rm", "--net=none", "busybox", "true"], env))
            times["api run"].append(_time([*docker, "run", "--rm", "--net=none", "busybox", "true"], denv))
            times["cli ps"].append(_time([*mc, "ps"], env))
            times["api ps"].append(_time([*docker, "ps"], denv))
        return {k: statistics.median(v) for k, v in times.items()}
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=15)
        shutil.rmtree(directory, ignore_errors=True)


def report(figures: dict[str, float] | None) -> None:
    if figures is None:
        print("Engine API: no docker client (scripts/setup puts one at /opt/minicontainer/docker-client)")
        return
    print("Engine API service (Debian's docker client through the socket), interleaved:")
    print(f"  {'minicontainer run --rm --net=none busybox true':<48} median {figures['cli run']:7.1f} ms")
    print(f"  {'docker run --rm --net=none busybox true':<48} median {figures['api run']:7.1f} ms"
          f"   ({figures['api run'] / figures['cli run']:.2f}x the CLI; target 1.3x)")
    print(f"  {'minicontainer ps':<48} median {figures['cli ps']:7.1f} ms")
    print(f"  {'docker ps':<48} median {figures['api ps']:7.1f} ms   (target 30 ms)")
