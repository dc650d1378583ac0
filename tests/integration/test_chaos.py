"""The chaos soak at CI size: 200 seeded random operations across the runtime, then rm -f of
everything, and the host exactly as before. MINICONTAINER_SOAK_SEED replays another sequence;
scripts/soak runs a long one."""

import os

from minicontainer import residue
from tests.chaos import Runner, Soak

OPERATIONS = 200


def test_seeded_chaos_soak_leaves_nothing(mc):
    seed = int(os.environ.get("MINICONTAINER_SOAK_SEED", "20261127"))
    before = residue.snapshot([mc.root], marker="PYTEST_CURRENT_TEST")
    soak = Soak(Runner(mc.root, mc.env), seed)
    done = soak.go(OPERATIONS)
    assert sum(done.values()) == OPERATIONS
    assert done["run"] > 20 and done["kill_supervisor"] > 0 and done["network_create"] > 0, done
    assert soak.served > 10  # every expected server was asked; this many answered
    diff = residue.settled_difference(before, lambda: residue.snapshot([mc.root], marker="PYTEST_CURRENT_TEST"))
    assert not diff, f"seed {seed}: the soak left:\n" + "\n".join(diff)
