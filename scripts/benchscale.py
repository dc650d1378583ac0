"""The scale figures: N containers started one after another on one bridge, each publishing a
port (-p 80: a random host port). How the last starts compare with the first, `ps` with N
running, what each running container costs in memory (its supervisor and proxies, RSS), and one
`rm -f` of all N."""

from __future__ import annotations

import statistics
import subprocess
import time


def _ms(argv: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return (time.perf_counter() - start) * 1000, out


def _own_rss(mc: list[str], env: dict, ids: list[str]) -> float:
    """MiB of RSS per container of what minicontainer runs for it: the supervisor and its children
    but the container's own processes (proxies, when they are processes)."""
    import psutil
    pids = subprocess.run([*mc, "inspect", "-f", "{{.State.Pid}}", *ids], env=env, check=True, capture_output=True,
                          text=True).stdout.split()
    total = 0
    for pid in pids:
        init = psutil.Process(int(pid))
        supervisor = init.parent()
        total += supervisor.memory_info().rss
        total += sum(c.memory_info().rss for c in supervisor.children() if c.pid != init.pid)
    return total / len(pids) / 2**20


def scale_figures(mc: list[str], env: dict, n: int) -> dict:
    starts, ids = [], []
    try:
        for _ in range(n):
            ms, out = _ms([*mc, "run", "-d", "-p", "80", "busybox", "sleep", "3600"], env)
            starts.append(ms)
            ids.append(out.strip())
        ps = [_ms([*mc, "ps"], env)[0] for _ in range(10)]
        rss = _own_rss(mc, env, ids)
        rm_ms, _ = _ms([*mc, "rm", "-f", *ids], env)
        ids = []
        return {"first": statistics.median(starts[:10]), "last": statistics.median(starts[-10:]),
                "ps": statistics.median(ps), "rss": rss, "rm": rm_ms}
    finally:
        if ids:
            subprocess.run([*mc, "rm", "-f", *ids], env=env, capture_output=True)


def report(n: int, f: dict) -> None:
    print(f"scale: {n} containers on one bridge, each with -p 80:")
    print(f"  {'start, median of the first ten':<44} {f['first']:7.1f} ms")
    print(f"  {'start, median of the last ten':<44} {f['last']:7.1f} ms   ({f['last'] / f['first']:.2f}x; target 1.2x)")
    print(f"  {f'ps with {n} running':<44} {f['ps']:7.1f} ms   (target 40 ms)")
    print(f"  {'memory per running container (RSS)':<44} {f['rss']:7.1f} MiB   (target 12 MiB)")
    print(f"  {f'rm -f of all {n}':<44} {f['rm'] / 1000:7.2f} s    (target 5 s)")
