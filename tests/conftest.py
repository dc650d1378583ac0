"""Shared fixtures. Integration tests run the real CLI as root against the real kernel, each in its
own state root, and finish with a check that nothing was left behind (processes, mounts, state)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (namespaces, mounts)")
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(skip)


class MC:
    """Runs `python -m minicontainer` with its own state root, like a user at a shell."""

    def __init__(self, root: str):
        self.root = root
        self.env = {**os.environ, "MINICONTAINER_ROOT": root, "PYTHONPATH": REPO}

    def __call__(self, *args: str, input: bytes | str | None = None, timeout: float = 60, check: bool = False):
        text = not isinstance(input, bytes)
        proc = subprocess.run([sys.executable, "-m", "minicontainer", *args], input=input, capture_output=True,
                              text=text, env=self.env, timeout=timeout)
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


def _pid_namespaces() -> set[int]:
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.add(os.stat(f"/proc/{pid}/ns/pid").st_ino)
            except OSError:
                pass
    return out


def leftovers(root: str, known_pidns: set[int]) -> list[str]:
    """Processes and mounts this state root still owns on the host."""
    import psutil
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.pid == me or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if os.stat(f"/proc/{proc.pid}/ns/pid").st_ino not in known_pidns:
                found.append(f"container process {proc.pid}: {' '.join(proc.info['cmdline'] or [])}")
            elif proc.environ().get("MINICONTAINER_ROOT") == root:
                found.append(f"minicontainer process {proc.pid}: {' '.join(proc.info['cmdline'] or [])}")
        except (psutil.Error, OSError):
            continue
    with open("/proc/self/mountinfo") as f:
        found += [f"mount: {line.split()[4]}" for line in f if root in line]
    return found


@pytest.fixture
def mc(tmp_path):
    root = str(tmp_path / "state")
    known = _pid_namespaces()
    runner = MC(root)
    # The default bridge network of this test only: its own bridge name, subnet and chain prefix.
    tag = f"{random.randrange(16**4):04x}"
    subnet_byte = random.randrange(200, 250)
    runner.env.update(MINICONTAINER_BRIDGE=f"mct{tag}", MINICONTAINER_SUBNET=f"10.{subnet_byte}.0.0/16",
                      MINICONTAINER_CHAIN_PREFIX=f"MCT{tag}")
    runner.bridge, runner.prefix, runner.net = f"mct{tag}", f"MCT{tag}", f"10.{subnet_byte}"
    yield runner
    # Clean up even after a failure, then prove the cleanup really removed everything.
    ids = runner("ps", "-aq").stdout.split()
    if ids:
        runner("rm", "-f", *ids)
    networks = os.path.join(root, "networks")
    for name in (os.listdir(networks) if os.path.isdir(networks) else []):
        if os.path.exists(os.path.join(networks, name, "network.json")):
            runner("network", "rm", name)
    assert not os.path.exists(f"/sys/class/net/{runner.bridge}"), "bridge left behind"
    save = subprocess.run(["iptables-legacy-save"], capture_output=True, text=True).stdout
    assert runner.prefix not in save and runner.bridge not in save, "iptables rules left behind"
    deadline = time.monotonic() + 5
    while (left := leftovers(root, known)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"left behind: {left}"
    containers = os.path.join(root, "containers")
    assert not os.path.isdir(containers) or not os.listdir(containers), "container state left behind"
