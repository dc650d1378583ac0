"""The examples in docs/examples run as users run them (their own process, their own sandbox) and
print what they measured; each asserts its own facts and exits non-zero if one fails."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

EXAMPLES = os.path.join(REPO, "docs", "examples")
EXPECTED = {
    "private_network.py": [r"client fetched: 'hello from server'", r"ping client -> server: 20 replies, median [\d.]+ ms",
                           r"stranger -> server: blocked"],
    "outside_client.py": [r"from the client namespace \(DNAT\): median [\d.]+ ms; DNAT rule matched \d+ packets",
                          r"from the host's 127\.0\.0\.1 \(userland proxy\): median [\d.]+ ms"],
    "readonly_volume.py": [r"write to /input \(ro bind\): exit 1: .*Read-only file system",
                           r"cp into the container: \d+ MiB/s", r"md5\.txt = [0-9a-f]{32}"],
}


def test_every_example_is_listed():
    assert sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py")) == sorted(EXPECTED)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_example_runs(example):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, example)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": REPO})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for pattern in EXPECTED[example]:
        assert re.search(pattern, proc.stdout), f"{pattern!r} not in:\n{proc.stdout}"
