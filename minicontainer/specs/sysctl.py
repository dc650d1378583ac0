"""--sysctl KEY=VALUE: the namespaced sysctls Docker's CLI accepts (its ValidateSysctl list), kept
in HostConfig.Sysctls. Pure."""

from __future__ import annotations

from minicontainer.errors import UsageError

# What a private IPC, network or mqueue namespace makes the container's own.
IPC_KEYS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
            "kernel.shmmni", "kernel.shm_rmid_forced"}
PREFIXES = ("net.", "fs.mqueue.")


def parse(items) -> dict[str, str]:
    """The --sysctl flags as HostConfig.Sysctls; Docker's CLI error for a key it does not accept."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key or not (key in IPC_KEYS or key.startswith(PREFIXES)):
            raise UsageError(f'invalid argument "{item}" for "--sysctl" flag: sysctl \'{item}\' is not allowed')
        out[key] = value
    return out


def proc_path(key: str) -> str:
    """Where a sysctl lives under /proc/sys (dots are directories; a slash stays a slash)."""
    return "/proc/sys/" + key.replace(".", "/")
