"""`minicontainer cp` of one big file into and out of a running container, next to a plain `cp` of
the same file on the host in the same run (same filesystem, same warm page cache)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time

SIZE_MIB = 512


def _timed(cmd: list[str], env: dict, source: str) -> float:
    """Each copy starts alike: earlier writes flushed, the source in the page cache (this VM's cache
    does not keep 512 MiB for long, and a cold read would measure the disk, not the copy)."""
    os.sync()
    with open(source, "rb") as f:
        while f.read(1 << 22):
            pass
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _make_file(path: str) -> None:
    block = os.urandom(1 << 20)  # incompressible and not sparse, so no filesystem shortcut applies
    with open(path, "wb") as f:
        for _ in range(SIZE_MIB):
            f.write(block)


def copy_speed(mc: list[str], env: dict, runs: int = 5) -> list[tuple[str, float]]:
    """Median seconds for: plain cp on the host, cp into the container, cp out of it."""
    work = os.path.join(env["MINICONTAINER_ROOT"], "cpbench")
    os.makedirs(work, exist_ok=True)
    big = os.path.join(work, "big")
    _make_file(big)
    name = "cpbench"
    subprocess.run([*mc, "run", "-d", "--net", "none", "--name", name, "busybox", "sleep", "600"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    times: dict[str, list[float]] = {"plain cp on the host": [], "minicontainer cp host -> container": [],
                                     "minicontainer cp container -> host": []}
    pid = subprocess.run([*mc, "inspect", "-f", "{{.State.Pid}}", name], env=env, check=True, capture_output=True,
                         text=True).stdout.strip()

    def in_container(i: int) -> str:
        return f"/proc/{pid}/root/big{i}"
    try:
        for i in range(runs):
            copy = os.path.join(work, f"plain{i}")
            times["plain cp on the host"].append(_timed(["cp", big, copy], env, big))
            os.unlink(copy)
            os.sync()
            times["minicontainer cp host -> container"].append(_timed([*mc, "cp", big, f"{name}:/big{i}"], env, big))
            out = os.path.join(work, f"out{i}")
            times["minicontainer cp container -> host"].append(_timed([*mc, "cp", f"{name}:/big{i}", out], env, in_container(i)))
            os.unlink(out)
            os.sync()
    finally:
        subprocess.run([*mc, "rm", "-f", name], env=env, stdout=subprocess.DEVNULL)
        os.unlink(big)
    return [(label, statistics.median(values)) for label, values in times.items()]
