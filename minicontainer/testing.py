"""pytest fixtures for experiments written as tests. Enable them in your conftest.py:

    pytest_plugins = ["minicontainer.testing"]

    def test_web(mc_sandbox):
        with mc_sandbox.run("busybox", ["httpd", "-f", "-p", "80"], ports=["8080:80"]) as web:
            ...

Every fixture cleans up after itself, after a failure too, and fails the test if the kernel still
holds a process, mount, bridge or rule of it. Run as root: they build real namespaces.
"""

from __future__ import annotations

import os

import pytest


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("minicontainer needs root (namespaces, mounts, iptables)")


@pytest.fixture
def mc_sandbox():
    """A minicontainer.Client on a throwaway state root with its own bridge, subnet and chains
    (`.isolation` names them); everything in it is removed when the test ends."""
    _need_root()
    from minicontainer.sandbox import sandbox
    with sandbox(kind="mcp") as client:
        yield client


@pytest.fixture
def mc_outside():
    """An OutsideHost: a network namespace wired to the host like a machine on its LAN, from which
    published ports are reached through PREROUTING's DNAT."""
    _need_root()
    from minicontainer.outside import OutsideHost
    with OutsideHost() as host:
        yield host
