"""Fixtures of the network tests (the `mc` fixture of tests/conftest.py gives each test its own
default network: bridge, subnet and chains, removed afterwards)."""

import random
import subprocess

import pytest


@pytest.fixture
def br(mc):
    return mc


@pytest.fixture
def outside_client(br):
    """A network namespace playing a client on another machine, wired to the host by a veth pair."""
    tag = br.bridge[3:]
    ns, host_if, octet = f"mcc{tag}", f"mcc{tag}h", random.randrange(1, 250)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", ns], check=True)
        subprocess.run(["ip", "addr", "add", f"10.253.{octet}.1/30", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        for cmd in (["ip", "addr", "add", f"10.253.{octet}.2/30", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
                    ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", f"10.253.{octet}.1"]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        yield ns, f"10.253.{octet}.1"
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
