"""How long the read-only commands take with a container running (one publishing a port on the
bridge): ps, inspect, port, logs, images, network ls, volume ls; and `exec C true` beside them.
Each is a new process, as a user types it; the interpreter alone is the floor."""

from __future__ import annotations

import statistics
import subprocess
import time

COMMANDS = [["ps"], ["ps", "-a"], ["inspect", "{cid}"], ["port", "{cid}"], ["logs", "{cid}"], ["images"],
            ["network", "ls"], ["volume", "ls"], ["exec", "{cid}", "true"]]


def readonly_times(mc: list[str], env: dict, runs: int) -> list[tuple[str, float]]:
    """(command, median ms), with one container running on the bridge with -p."""
    cid = subprocess.run([*mc, "run", "-d", "--net=bridge", "-p", "80", "busybox", "sleep", "600"], env=env,
                         check=True, capture_output=True, text=True).stdout.strip()
    try:
        out = []
        for argv in COMMANDS:
            argv = [a.format(cid=cid) for a in argv]
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run([*mc, *argv], env=env, check=True, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - start)
            out.append((" ".join(a if a != cid else "C" for a in argv), statistics.median(times) * 1000))
        return out
    finally:
        subprocess.run([*mc, "rm", "-f", cid], env=env, capture_output=True)
