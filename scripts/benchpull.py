"""Pull speed from a registry on 127.0.0.1 (Debian's docker-registry), next to skopeo fetching the
same image, and what layering costs at `run`: start time of a 1-layer vs a 6-layer image.

Run through `scripts/bench --pull-only` or as part of `scripts/bench`."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.integration.registrykit import Layer, Registry, busybox_layer  # noqa: E402

LAYERS, LAYER_MIB = 5, 20


def _timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def pull_speed(mc: list[str], env: dict, runs: int = 3) -> list[tuple[str, list[float], int]]:
    """[(label, seconds per run, bytes)]; every minicontainer run starts from an empty state root."""
    work = tempfile.mkdtemp(prefix="mc-benchpull-")
    reg = Registry(work)
    try:
        # Half random (incompressible), half text: roughly what real layers hold.
        layers = [busybox_layer().bytes()]
        for i in range(LAYERS):
            half = LAYER_MIB * 2**19
            layers.append(Layer().file(f"data{i}/random", os.urandom(half))
                          .file(f"data{i}/text", (b"the quick brown fox %d\n" % i) * (half // 22)).bytes())
        reg.push_image("bench/big", "1", layers, {"Cmd": ["/bin/sh"]})
        small = [busybox_layer().bytes()]
        reg.push_image("bench/small", "1", small, {"Cmd": ["/bin/sh"]})
        total = sum(len(raw) for raw in layers)
        ref = f"{reg.host}/bench/big:1"
        ours, theirs = [], []
        for _ in range(runs):
            root = tempfile.mkdtemp(prefix="mc-benchpull-root-")
            try:
                ours.append(_timed([*mc, "pull", "-q", ref], {**env, "MINICONTAINER_ROOT": root}))
            finally:
                shutil.rmtree(root)
            dest = tempfile.mkdtemp(prefix="mc-benchpull-skopeo-")
            try:
                theirs.append(_timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}"], env))
            finally:
                shutil.rmtree(dest)
        results = [(f"minicontainer pull ({LAYERS + 1} layers, download+verify+unpack)", ours, total),
                   ("skopeo copy to dir: (download+verify, no unpack)", theirs, total)]
        # Start time against the number of overlay lower layers.
        root = tempfile.mkdtemp(prefix="mc-benchpull-root-")
        renv = {**env, "MINICONTAINER_ROOT": root}
        try:
            for name, count in (("small", 1), ("big", LAYERS + 1)):
                image = f"{reg.host}/bench/{name}:1"
                subprocess.run([*mc, "pull", "-q", image], env=renv, check=True, stdout=subprocess.DEVNULL)
                times = [_timed([*mc, "run", "--rm", "--net", "none", image, "sh", "-c", ":"], renv) for _ in range(10)]
                results.append((f"run --rm --net none, {count}-layer image", times, 0))
        finally:
            shutil.rmtree(root)
        return results
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(results) -> None:
    for label, times, size in results:
        med = statistics.median(times)
        rate = f"   {size / med / 1e6:6.0f} MB/s" if size else ""
        print(f"  {label:<62} median {med * 1000:7.0f} ms   min {min(times) * 1000:7.0f}{rate}   runs: "
              + " ".join(f"{t * 1000:.0f}" for t in times))


if __name__ == "__main__":
    mc = [shutil.which("minicontainer") or sys.exit("minicontainer not on PATH: run scripts/setup")]
    report(pull_speed(mc, dict(os.environ)))
