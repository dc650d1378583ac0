"""A throwaway runtime for experiments and tests: its own state root, bridge name, subnet and
iptables chains, removed on exit, with a check that nothing was left behind in the kernel.

    with minicontainer.sandbox() as mc:
        ...

Names are random so that sandboxes (and the project's own tests) can run side by side without
ever touching the user's `bridge` network or its rules.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

SUBNET_POOL = [ipaddress.ip_network(f"10.{b}.0.0/16") for b in range(200, 250)]


@dataclass
class Isolation:
    """The names one sandbox uses: bridge `<tag>`, chains `<TAG>-...`, one /16 of 10.200-249."""

    bridge: str
    chain_prefix: str
    subnet: str

    @property
    def env(self) -> dict[str, str]:
        """The same settings for the CLI (what a test that runs `minicontainer` commands exports)."""
        return {"MINICONTAINER_BRIDGE": self.bridge, "MINICONTAINER_SUBNET": self.subnet,
                "MINICONTAINER_CHAIN_PREFIX": self.chain_prefix}


def allocate(kind: str = "mcs") -> Isolation:
    """Fresh names: a random tag, and a subnet no host route or address overlaps."""
    from minicontainer.network.networks import host_networks
    tag = f"{random.randrange(16**4):04x}"
    taken = host_networks()
    free = [n for n in SUBNET_POOL if not any(n.overlaps(t) for t in taken)]
    if not free:
        raise RuntimeError("no free /16 left in 10.200.0.0-10.249.255.255 for a sandbox network")
    return Isolation(bridge=f"{kind}{tag}", chain_prefix=f"{kind.upper()}{tag}", subnet=str(random.choice(free)))


def pid_namespaces() -> set[int]:
    """The pid namespaces in use now: a process in any other one later is a container we left."""
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):
                out.add(os.stat(f"/proc/{pid}/ns/pid").st_ino)
    return out


def leftovers(root: str, known_pidns: set[int], iso: Isolation | None = None) -> list[str]:
    """What this state root still holds on the host: processes, mounts and, given its names, its
    bridge and iptables rules."""
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
    if iso is not None:
        if os.path.exists(f"/sys/class/net/{iso.bridge}"):
            found.append(f"bridge {iso.bridge}")
        for save_cmd in ("iptables-legacy-save", "iptables-nft-save"):  # both backends, whichever wrote
            try:
                save = subprocess.run([save_cmd], capture_output=True, text=True).stdout
            except FileNotFoundError:
                continue
            found += [f"rule ({save_cmd}): {line}" for line in save.splitlines()
                      if iso.chain_prefix in line or iso.bridge in line]
    return found


def remove_everything(client) -> None:
    """Every container (forced, with its anonymous volumes) and every network of client's root."""
    from minicontainer.errors import MCError, NoSuchContainer
    for container in client.containers(all=True):
        with contextlib.suppress(NoSuchContainer):
            container.remove(force=True, volumes=True)
    for network in client.networks():
        with contextlib.suppress(MCError):
            network.remove()


@contextlib.contextmanager
def sandbox(kind: str = "mcs", check: bool = True):
    """Yield a Client on a temporary root with its own network names; on exit remove everything
    it holds and (check=True) raise if the kernel still has any of it."""
    from minicontainer.client import Client
    known = pid_namespaces()
    iso = allocate(kind)
    root = tempfile.mkdtemp(prefix="minicontainer-sandbox-")
    try:
        client = Client(root, bridge=iso.bridge, subnet=iso.subnet, chain_prefix=iso.chain_prefix)
        client.isolation = iso
        yield client
        remove_everything(client)
    except BaseException:
        with contextlib.suppress(Exception):
            remove_everything(Client(root))
        raise
    finally:
        left = settled_leftovers(root, known, iso)
        if not left:
            shutil.rmtree(root, ignore_errors=True)
    if check and left:
        raise AssertionError(f"sandbox {root} left behind: {left}")


def settled_leftovers(root: str, known: set[int], iso: Isolation, settle: float = 5) -> list[str]:
    """Detached supervisors finish their teardown a moment after `rm` returns: give them time."""
    deadline = time.monotonic() + settle
    while (left := leftovers(root, known, iso)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
