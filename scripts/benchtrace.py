"""How soon `trace` is ready to capture: from its start to the moment its marking table is in the
kernel (polled with the nft netlink listing), for a container with a published port."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time


def _table_there() -> bool:
    return "minicontainer_trace_" in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def ready_times(mc: list[str], runs: int) -> list[float]:
    root = tempfile.mkdtemp(prefix="mc-benchtrace-")
    env = {**os.environ, "MINICONTAINER_ROOT": root, "MINICONTAINER_BRIDGE": "mcbtr0",
           "MINICONTAINER_SUBNET": "10.248.0.0/16", "MINICONTAINER_CHAIN_PREFIX": "MCBTR"}
    times = []
    try:
        subprocess.run([*mc, "run", "-d", "--name", "tr", "-p", "80", "busybox", "sleep", "600"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        for _ in range(runs):
            start = time.perf_counter()
            tracer = subprocess.Popen([*mc, "trace", "--to", "tr:80", "--timeout", "2"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not _table_there() and tracer.poll() is None:
                time.sleep(0.002)
            times.append(time.perf_counter() - start)
            tracer.wait()
    finally:
        subprocess.run([*mc, "rm", "-f", "tr"], env=env, capture_output=True)
        subprocess.run([*mc, "network", "rm", "--predefined", "bridge"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return times


if __name__ == "__main__":
    found = [t * 1000 for t in ready_times([shutil.which("minicontainer") or "minicontainer"], 10)]
    print(f"trace ready (marking table in the kernel): median {statistics.median(found):.1f} ms, min {min(found):.1f}")
