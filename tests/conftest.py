"""Shared fixtures. Integration tests run the real CLI as root against the real kernel, each in its
own state root, and finish with a check that nothing was left behind (processes, mounts, state)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from minicontainer import residue as host_residue
from minicontainer.network.backends import ENV as BACKEND_ENV
from minicontainer.network.backends import host_backend
from minicontainer.sandbox import allocate, pid_namespaces, settled_leftovers

pytest_plugins = ["minicontainer.testing"]  # the fixtures users get: mc_sandbox, mc_outside

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The host resolv.conf every test's containers see: their embedded DNS servers forward what they
# do not know there, and nothing answers on it (the machine's real resolvers are never asked).
# A test that needs an upstream starts one of its own and points this at it.
NO_UPSTREAM = os.path.join(REPO, "tests", "data", "resolv-no-upstream.conf")
os.environ["MINICONTAINER_RESOLV_CONF"] = NO_UPSTREAM  # every process a test starts, API users' too


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (namespaces, mounts)")
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(skip)


class MC:
    """Runs `python -m minicontainer` with its own state root, like a user at a shell."""

    def __init__(self, root: str, backend: str | None = None):
        self.root = root
        self.env = {**os.environ, "MINICONTAINER_ROOT": root, "PYTHONPATH": REPO}
        self.backend = backend or host_backend()  # where this test's rules go
        self.env[BACKEND_ENV] = self.backend

    def __call__(self, *args: str, input: bytes | str | None = None, timeout: float = 60, check: bool = False):
        text = not isinstance(input, bytes)
        proc = subprocess.run([sys.executable, "-m", "minicontainer", *args], input=input, capture_output=True,
                              text=text, env=self.env, timeout=timeout)
        stderr = proc.stderr if text else proc.stderr.decode(errors="replace")
        # A teardown that could not undo a step is a bug even when the command succeeds.
        assert "teardown could not undo" not in stderr, f"minicontainer {' '.join(args)}: {stderr}"
        if check and proc.returncode != 0:
            raise AssertionError(f"minicontainer {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def ok(self, *args: str, **kw) -> str:
        return self(*args, check=True, **kw).stdout

    @staticmethod
    def argv() -> list[str]:
        return [sys.executable, "-m", "minicontainer"]

    def popen(self, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "minicontainer", *args], env=self.env, **kw)

    def iptables(self, *args: str, check: bool = False) -> subprocess.CompletedProcess:
        """The iptables command of this test's backend (iptables-nft or iptables-legacy)."""
        return subprocess.run([f"iptables-{self.backend}", "-w", *args], capture_output=True, text=True, check=check)

    def save(self, *args: str) -> str:
        """iptables-save of this test's backend (`-t TABLE` to list one table)."""
        return subprocess.run([f"iptables-{self.backend}-save", *args], capture_output=True, text=True,
                              check=True).stdout


class Residue:
    """What the residue check compares besides the kernel: the state roots a test uses, and the
    differences it means to leave (regexes over the lines of residue.difference())."""

    def __init__(self):
        self.roots: list[str] = []
        self.allowed: list[str] = []

    def watch(self, root: str) -> None:
        self.roots.append(root)

    def allow(self, pattern: str) -> None:
        self.allowed.append(pattern)


@pytest.fixture(autouse=True)
def residue():
    """Every test: snapshot the host (links, addresses, routes, netns, iptables in both backends,
    mounts, our processes, state records and leases) before and after, and fail on any difference
    the test did not declare. Runs after every other fixture's teardown (it is set up first)."""
    if os.geteuid() != 0:
        yield Residue()
        return
    watched = Residue()
    marker = "PYTEST_CURRENT_TEST"  # every process the test starts inherits it
    before = host_residue.snapshot(marker=marker)
    yield watched
    diff = host_residue.settled_difference(
        before, lambda: host_residue.snapshot(watched.roots, marker=marker), watched.allowed)
    assert not diff, "the test left the host changed:\n" + "\n".join(diff)


@pytest.fixture
def backend():
    """The firewall backend of a test's rules: the host's, as a user's would be. A test that must
    hold on both parametrizes it: @pytest.mark.parametrize("backend", BACKENDS)."""
    return host_backend()


@pytest.fixture
def mc(tmp_path, residue, backend):
    root = str(tmp_path / "state")
    residue.watch(root)
    known = pid_namespaces()
    runner = MC(root, backend)
    # The default bridge network of this test only: its own bridge name, subnet and chain prefix.
    iso = allocate("mct")
    runner.env.update(iso.env)
    runner.bridge, runner.prefix, runner.net = iso.bridge, iso.chain_prefix, iso.subnet.rsplit(".", 2)[0]
    yield runner
    # Clean up even after a failure, then prove the cleanup really removed everything.
    ids = runner("ps", "-aq").stdout.split()
    if ids:
        runner("rm", "-f", *ids)
    networks = os.path.join(root, "networks")
    for name in (os.listdir(networks) if os.path.isdir(networks) else []):
        if os.path.exists(os.path.join(networks, name, "network.json")):
            runner("network", "rm", "--predefined", name)
    left = settled_leftovers(root, known, iso)  # processes, mounts, the bridge, rules
    assert not left, f"left behind: {left}"
    containers = os.path.join(root, "containers")
    assert not os.path.isdir(containers) or not os.listdir(containers), "container state left behind"
