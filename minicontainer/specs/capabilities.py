"""Linux capabilities by name, and which ones a container gets (Docker's default set, --cap-add,
--cap-drop, --privileged). Pure: the kernel's part is kernel/capabilities.py."""

from __future__ import annotations

from minicontainer.errors import DaemonError

# capabilities(7), in the kernel's numbering (index = number)
NAMES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
)

# Docker's default set (moby's caps.DefaultCapabilities): CapEff 00000000a80425fb for root
DEFAULT = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
           "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
           "CAP_AUDIT_WRITE")


ALL_KNOWN = (1 << len(NAMES)) - 1


def supported(available: int) -> list[str]:
    """The capabilities this environment has (the runtime's own bounding set: a kernel's
    cap_last_cap, less what a sandbox around us took away), as CAP_ names."""
    return [f"CAP_{n}" for i, n in enumerate(NAMES) if available >> i & 1]


def normalize(names: list[str], what: str, available: int) -> list[str]:
    """--cap-add/--cap-drop values as Docker takes them: any case, CAP_ optional, ALL."""
    known = set(supported(available))
    out = []
    for raw in names:
        name = raw.upper()
        if name != "ALL" and not name.startswith("CAP_"):
            name = "CAP_" + name
        if name != "ALL" and name not in known:
            if name[4:] in NAMES:
                raise DaemonError(f"invalid {what}: capability not supported by your kernel or not available "
                                  f'in the current environment: "{name}"', 125)
            raise DaemonError(f'invalid {what}: unknown capability: "{name}"', 125)
        out.append(name)
    return out


def container_caps(add: list[str], drop: list[str], privileged: bool, available: int) -> list[str]:
    """The set a container's process gets (moby's TweakCapabilities): all with --privileged; with
    --cap-add ALL all but the dropped; with --cap-drop ALL only the added; else the default set
    less the dropped plus the added."""
    every = supported(available)
    if privileged:
        return every
    add, drop = normalize(add, "CapAdd", available), normalize(drop, "CapDrop", available)
    if "ALL" in add:
        return [c for c in every if c not in drop]
    if "ALL" in drop:
        return list(dict.fromkeys(add))
    return list(dict.fromkeys([c for c in DEFAULT if c not in drop] + add))


def numbers(caps: list[str]) -> list[int]:
    return sorted(NAMES.index(c[4:]) for c in caps)


def mask(caps: list[str]) -> int:
    """The bits /proc/PID/status shows (CapEff: 00000000a80425fb)."""
    return sum(1 << n for n in numbers(caps))
