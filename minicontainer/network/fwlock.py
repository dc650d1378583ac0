"""The lock around every change our processes make to the host's rules: the xtables lock file the
iptables-legacy commands take too. iptables-nft takes no lock (the kernel's generation check makes
its commits safe), but our read -> compare -> write must not interleave with another minicontainer's."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager

LOCK_PATH = os.environ.get("XTABLES_LOCKFILE", "/run/xtables.lock")


@contextmanager
def xtables_lock():
    from minicontainer.network.repair import own_change
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with own_change():
            yield
    finally:
        os.close(fd)
