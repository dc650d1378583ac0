"""What confinement costs and holds: the start cost of the seccomp filter and capability sets
(`run` with and without them, interleaved), of the cgroup (made, filled, entered and removed, timed
in-process, all hierarchies), `stats --no-stream` with 20 containers running,
and how closely --cpus holds a busy loop."""

from __future__ import annotations

import os
import statistics
import subprocess
import time

from minicontainer.kernel import cgroups
from minicontainer.runtime.cgroup import cgroup_step

STATS_CONTAINERS = 20


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def start_costs(mc: list[str], env: dict, runs: int) -> dict[str, float]:
    """Median start of `run --rm --net=none busybox true`: confined as Docker (the default), with
    no seccomp filter, and --privileged (every capability, no filter); interleaved so drift hits all alike."""
    variants = {"default (capabilities + seccomp + cgroup)": [],
                "--security-opt seccomp=unconfined": ["--security-opt", "seccomp=unconfined"],
                "--privileged (no filter, all capabilities)": ["--privileged"]}
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(runs):
        for label, flags in variants.items():
            start = time.perf_counter()
            subprocess.run([*mc, "run", "--rm", "--net=none", *flags, "busybox", "true"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            times[label].append(time.perf_counter() - start)
    return {label: _median_ms(t) for label, t in times.items()}


def cgroup_cost(runs: int) -> tuple[float, float] | None:
    """Median ms of one container's cgroup made (limits and device rules written) and removed, and
    of a forked child moving itself in (timed by the child, as a container's process does it); runs
    spaced out so that none finds the kernel's migration lock warm from the one before."""
    lay = cgroups.layout()
    if lay is None:
        return None
    hc = {"Memory": 64 << 20, "PidsLimit": 100, "NanoCpus": 500_000_000}
    made, entered = [], []
    for n in range(runs):
        time.sleep(0.2)
        step = cgroup_step(hc, f"bench{os.getpid()}x{n}", lay)
        start = time.perf_counter()
        step.do()
        made.append(time.perf_counter() - start)
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            began = time.perf_counter()
            cgroups.enter_self(step.entry_files())
            os.write(w, str(time.perf_counter() - began).encode())
            os._exit(0)
        os.close(w)
        entered.append(float(os.read(r, 64)))
        os.close(r)
        os.waitpid(child, 0)
        start = time.perf_counter()
        step.undo()
        made[-1] += time.perf_counter() - start
    return _median_ms(made), _median_ms(entered)


def stats_time(mc: list[str], env: dict, runs: int) -> float:
    """Median `stats --no-stream` with STATS_CONTAINERS containers running."""
    ids = [subprocess.run([*mc, "run", "-d", "--net=none", "busybox", "sleep", "600"], env=env, check=True,
                          capture_output=True, text=True).stdout.strip() for _ in range(STATS_CONTAINERS)]
    try:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            out = subprocess.run([*mc, "stats", "--no-stream"], env=env, check=True, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            assert out.stdout.count("\n") == STATS_CONTAINERS + 1
        return _median_ms(times)
    finally:
        subprocess.run([*mc, "rm", "-f", *ids], env=env, capture_output=True)


def cpus_held(mc: list[str], env: dict, cpus: str = "0.5", seconds: float = 2.0) -> float | None:
    """The CPUs a busy loop really got under --cpus, over `seconds` (cpuacct / cpu.stat of its cgroup)."""
    cid = subprocess.run([*mc, "run", "-d", "--net=none", "--cpus", cpus, "busybox", "sh", "-c", "while :; do :; done"],
                         env=env, check=True, capture_output=True, text=True).stdout.strip()
    try:
        from minicontainer.runtime.api import Runtime
        rt = Runtime(env["MINICONTAINER_ROOT"])
        rec = rt.get(cid)
        first = rt.sample(rec).cpu_ns
        start = time.perf_counter()
        time.sleep(seconds)
        used = rt.sample(rec).cpu_ns - first
        return used / 1e9 / (time.perf_counter() - start) if rt.cgroup(rec) else None
    finally:
        subprocess.run([*mc, "rm", "-f", cid], env=env, capture_output=True)
