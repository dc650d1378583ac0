"""Which firewall backend our rules go to, chosen the way Docker chooses: whatever `iptables` on PATH
is. Docker (<= 28) execs that binary for every rule, so on Debian 12, Ubuntu 22.04+ and Fedora
(`iptables` -> xtables-nft-multi) its rules live in nf_tables' `ip filter` and `ip nat` tables, and on
older hosts in the legacy x_tables ones. Ours go to the same place, so `iptables -S` shows both.

MINICONTAINER_IPTABLES_BACKEND (the global flag --iptables-backend sets it) overrides the choice;
each network records the backend that wrote its rules (network/networks.py).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from minicontainer.errors import DaemonError

LEGACY, NFT = "legacy", "nft"
BACKENDS = (LEGACY, NFT)
ENV = "MINICONTAINER_IPTABLES_BACKEND"


@functools.cache
def host_backend() -> str:
    """The backend of the host's `iptables`: its multi-call binary's name, else what `iptables -V`
    says ("v1.8.9 (nf_tables)"); legacy where there is no iptables command at all."""
    path = shutil.which("iptables")
    if path is None:
        return LEGACY
    target = os.path.basename(os.path.realpath(path))
    if target.startswith("xtables-nft"):
        return NFT
    if target.startswith("xtables-legacy"):
        return LEGACY
    try:  # a wrapper script (kube's iptables-wrapper, a distribution's own)
        version = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return LEGACY
    return NFT if "nf_tables" in version else LEGACY


def requested_backend() -> str | None:
    """The backend asked for on this command line or in the environment, None if not asked."""
    value = os.environ.get(ENV, "").strip().lower()
    if not value:
        return None
    if value not in BACKENDS:
        raise DaemonError(f"invalid iptables backend {value!r}: legacy or nft", 125)
    return value


def iptables_command(backend: str) -> str:
    """What a user types on this host to reach that backend: plain `iptables` where it is that
    backend (Docker's commands look the same), else `iptables-legacy` / `iptables-nft`."""
    return "iptables" if backend == host_backend() else f"iptables-{backend}"


def binary(backend: str) -> str:
    """The iptables command of that backend itself (never a wrapper that might pick the other)."""
    return f"iptables-{backend}"


def save_command(backend: str) -> str:
    """The binary that lists that backend's tables (never a wrapper that might pick the other)."""
    return f"iptables-{backend}-save"


def restore_command(backend: str) -> str:
    return f"iptables-{backend}-restore"
