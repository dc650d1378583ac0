"""The chaos soak at length, with figures: N seeded random operations (tests/chaos.py) on a sandbox
root with its own bridge, subnet and chains, then a check that the host is exactly as before.
Prints operations per kind with their median and worst time, the whole run's time, and the
residue (none, or the run fails). Replays: the same --seed gives the same operations."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minicontainer import residue  # noqa: E402
from minicontainer.sandbox import allocate  # noqa: E402
from tests.chaos import Runner, Soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    iso = allocate("mcsk")
    root = tempfile.mkdtemp(prefix="minicontainer-soak-")
    marker = "MINICONTAINER_SOAK"
    os.environ[marker] = "1"  # the soak's processes carry it: the residue check finds any left
    before = residue.snapshot(marker=marker)
    soak = Soak(Runner(os.path.join(root, "state"), iso.env), args.seed)
    print(f"soak: {args.ops} operations, seed {args.seed}, bridge {iso.bridge}, subnet {iso.subnet}", flush=True)
    started = time.monotonic()
    try:
        done = soak.go(args.ops)
    finally:
        elapsed = time.monotonic() - started
        diff = residue.settled_difference(before, lambda: residue.snapshot([soak.run.root], marker=marker))
    print(f"{'operation':<18}{'count':>7}{'median ms':>12}{'max ms':>10}")
    for kind, times in sorted(soak.timings.items()):
        print(f"{kind:<18}{len(times):>7}{statistics.median(times) * 1000:>12.0f}{max(times) * 1000:>10.0f}")
    print(f"total: {sum(done.values())} operations in {elapsed:.1f} s; {soak.served} HTTP checks answered; "
          f"containers and networks named: {soak.counter}")
    if diff:
        print("RESIDUE:\n" + "\n".join(diff))
        return 1
    shutil.rmtree(root, ignore_errors=True)
    print("residue: none (links, addresses, routes, netns, iptables legacy/nft, mounts, processes, state)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
