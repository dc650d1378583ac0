"""`minicontainer cp` of one big file into and out of a running container, next to a plain `cp` of
the same file on the host in the same run (same filesystem, same warm page cache)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time

SIZE_MIB = 512


def _timed(cmd: list[str], env: dict, source: str) -> float:
    """Each copy starts alike: earlier writes flushed, the source in the page cache (a cold read
    would measure the disk), and enough free memory recently touched for the copy's page cache.
    The last one matters on this VM: free pages are reported back to the hypervisor (virtio free
    page reporting), and the first touch of such a page costs a host fault, ~1.5 s per 512 MiB,
    paid by whichever copy happens to need new pages, whatever tool it is."""
    os.sync()
    with open(source, "rb") as f:
        while f.read(1 << 22):
            pass
    _touch_free_memory((SIZE_MIB + 64) << 20)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _touch_free_memory(size: int) -> None:
    """Fill and free a tmpfs file: its pages go back to the guest's free lists, warm."""
    with open("/dev/shm/mc-bench-touch", "wb") as f:
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    os.unlink("/dev/shm/mc-bench-touch")


def _make_file(path: str) -> None:
    block = os.urandom(1 << 20)  # incompressible and not sparse, so no filesystem shortcut applies
    with open(path, "wb") as f:
        for _ in range(SIZE_MIB):
            f.write(block)


def copy_speed(mc: list[str], env: dict, runs: int = 6) -> list[tuple[str, float, float, list[float]]]:
    """(label, median, min, all runs) in seconds for: plain cp on the host, cp into the container,
    cp out of it. Every copy writes a new file that is deleted afterwards; the three take turns
    going first, so whatever the previous copy left behind (see _timed) falls on each alike."""
    work = os.path.join(env["MINICONTAINER_ROOT"], "cpbench")
    os.makedirs(work, exist_ok=True)
    big = os.path.join(work, "big")
    _make_file(big)
    name = "cpbench"
    subprocess.run([*mc, "run", "-d", "--net", "none", "--name", name, "busybox", "sleep", "600"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    pid = subprocess.run([*mc, "inspect", "-f", "{{.State.Pid}}", name], env=env, check=True, capture_output=True,
                         text=True).stdout.strip()
    in_ctr = f"/proc/{pid}/root"
    subprocess.run([*mc, "cp", big, f"{name}:/big"], env=env, check=True)
    copies = [  # label, command, source read, file written
        ("plain cp on the host", ["cp", big, f"{work}/plain"], big, f"{work}/plain"),
        ("minicontainer cp host -> container", [*mc, "cp", big, f"{name}:/in"], big, f"{in_ctr}/in"),
        ("minicontainer cp container -> host", [*mc, "cp", f"{name}:/big", f"{work}/out"], f"{in_ctr}/big",
         f"{work}/out"),
    ]
    times: dict[str, list[float]] = {label: [] for label, *_ in copies}
    try:
        for i in range(runs):
            for label, cmd, source, written in copies[i % 3:] + copies[:i % 3]:
                times[label].append(_timed(cmd, env, source))
                os.unlink(written)
    finally:
        subprocess.run([*mc, "rm", "-f", name], env=env, stdout=subprocess.DEVNULL)
        os.unlink(big)
    return [(label, statistics.median(v), min(v), v) for label, v in times.items()]
