"""Start cost on each firewall backend: `run --rm` on the bridge with and without a published port
(its rules added and removed), and `ps` with that network up (each command compares the kernel's
rules with what our records need). Each backend gets a state root, bridge, subnet and chains of its own."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile

from bench import timed_runs

BACKENDS = ("legacy", "nft")


def backend_figures(mc: list[str], runs: int) -> list[tuple[str, str, list[float]]]:
    """(backend, label, times) for each figure."""
    out = []
    for n, backend in enumerate(BACKENDS):
        root = tempfile.mkdtemp(prefix=f"mc-benchfw-{backend}-")
        env = {**os.environ, "MINICONTAINER_ROOT": root, "MINICONTAINER_BRIDGE": f"mcbfw{n}",
               "MINICONTAINER_SUBNET": f"10.25{n}.0.0/16", "MINICONTAINER_CHAIN_PREFIX": f"MCBFW{n}",
               "MINICONTAINER_IPTABLES_BACKEND": backend}
        try:
            subprocess.run([*mc, "run", "--rm", "busybox", "true"], env=env, check=True)  # bridge and chains
            out.append((backend, "run --rm busybox true (bridge)", timed_runs([*mc, "run", "--rm", "busybox", "true"], runs, env)))
            out.append((backend, "run --rm -p 80 busybox true",
                        timed_runs([*mc, "run", "--rm", "-p", "80", "busybox", "true"], runs, env)))
            out.append((backend, "ps (the network up)", timed_runs([*mc, "ps"], runs, env)))
        finally:
            subprocess.run([*mc, "network", "rm", "--predefined", "bridge"], env=env, capture_output=True)
            shutil.rmtree(root, ignore_errors=True)
    return out


def report(figures: list[tuple[str, str, list[float]]]) -> None:
    medians = {}
    for backend, label, times in figures:
        ms = sorted(t * 1000 for t in times)
        medians[(backend, label)] = statistics.median(ms)
        print(f"  {backend:<7} {label:<34} median {medians[(backend, label)]:7.1f} ms   min {ms[0]:7.1f}   (n={len(ms)})")
    for backend in BACKENDS:
        ratio = medians[(backend, "run --rm -p 80 busybox true")] / medians[(backend, "run --rm busybox true (bridge)")]
        print(f"  {backend:<7} -p 80 start / plain bridge start: {ratio:.2f}x")
