"""`run`'s resource flags (--memory, --cpus, --pids-limit, --device, ...) as Docker's CLI parses them
and Docker's daemon checks them. Pure: the machine's facts (CPU count, which controllers exist)
come in as arguments.

The flag values are pflag Values in Docker's CLI, so a malformed one is a usage error naming the
flag; the daemon's checks (a limit below 6 MB, more CPUs than the machine has) come back as
"Error response from daemon". Both exit 125.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from minicontainer.errors import DaemonError, UsageError

MIN_MEMORY = 6 * 1024 * 1024  # the daemon's linuxMinMemory: room for a runtime to start the process
CFS_PERIOD_US = 100_000       # --cpus is a quota per 100 ms period, as Docker sets it

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$", re.IGNORECASE)
_DEVICE_RULE = re.compile(r"^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$")
_DEVICE_MODE = re.compile(r"^[rwm]{1,3}$")


@dataclass(frozen=True)
class DeviceMapping:
    """--device HOST[:CONTAINER][:PERMISSIONS], HostConfig.Devices' shape."""

    path_on_host: str
    path_in_container: str
    permissions: str = "rwm"

    def json(self) -> dict:
        return {"PathOnHost": self.path_on_host, "PathInContainer": self.path_in_container,
                "CgroupPermissions": self.permissions}


@dataclass
class Resources:
    """What the cgroup of a container is asked to hold it to (HostConfig's resource keys)."""

    memory: int = 0               # bytes; 0 = no limit
    memory_swap: int = 0          # memory plus swap, bytes; -1 = unlimited swap; 0 = twice memory
    memory_reservation: int = 0   # a soft limit
    oom_kill_disable: bool = False
    nano_cpus: int = 0            # CPUs x 1e9
    cpu_shares: int = 0
    cpuset_cpus: str = ""
    pids_limit: int | None = None  # None (and 0 or below) = no limit
    blkio_weight: int = 0
    cgroup_parent: str = ""
    devices: list[DeviceMapping] = field(default_factory=list)
    device_cgroup_rules: list[str] = field(default_factory=list)

    def host_config(self) -> dict:
        """The HostConfig keys, as Docker's daemon stores them (MemorySwap defaults to twice Memory,
        a PidsLimit of 0 or below is no limit)."""
        swap = self.memory_swap or (self.memory * 2 if self.memory else 0)
        return {"Memory": self.memory, "MemorySwap": swap, "MemoryReservation": self.memory_reservation,
                "OomKillDisable": self.oom_kill_disable, "NanoCpus": self.nano_cpus, "CpuShares": self.cpu_shares,
                "CpusetCpus": self.cpuset_cpus,
                "PidsLimit": self.pids_limit if self.pids_limit and self.pids_limit > 0 else None,
                "BlkioWeight": self.blkio_weight, "CgroupParent": self.cgroup_parent,
                "Devices": [d.json() for d in self.devices],
                "DeviceCgroupRules": list(self.device_cgroup_rules) or None}


def from_host_config(hc: dict) -> Resources:
    """The Resources a record's HostConfig holds (the inverse of Resources.host_config)."""
    return Resources(memory=hc.get("Memory") or 0, memory_swap=hc.get("MemorySwap") or 0,
                     memory_reservation=hc.get("MemoryReservation") or 0,
                     oom_kill_disable=bool(hc.get("OomKillDisable")), nano_cpus=hc.get("NanoCpus") or 0,
                     cpu_shares=hc.get("CpuShares") or 0, cpuset_cpus=hc.get("CpusetCpus") or "",
                     pids_limit=hc.get("PidsLimit"), blkio_weight=hc.get("BlkioWeight") or 0,
                     cgroup_parent=hc.get("CgroupParent") or "",
                     devices=[DeviceMapping(d["PathOnHost"], d["PathInContainer"], d["CgroupPermissions"])
                              for d in hc.get("Devices") or []],
                     device_cgroup_rules=list(hc.get("DeviceCgroupRules") or []))


# ---------------------------------------------------------------- the CLI's flag values

def ram_in_bytes(text: str) -> int:
    """go-units' RAMInBytes: "32m", "1.5g", "512k", "64MiB", "1024" (binary multiples)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"invalid size: '{text}'")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def swap_bytes(text: str) -> int:
    """--memory-swap: a size, or -1 for unlimited swap."""
    return -1 if text == "-1" else ram_in_bytes(text)


def nano_cpus(text: str) -> int:
    """--cpus as a rational number of CPUs, in billionths (Docker's NanoCPUs)."""
    from fractions import Fraction
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text} as a rational number") from None
    nano = value * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


def int64(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def uint16(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    if int(text) > 0xFFFF:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return int(text)


def parse_device(text: str) -> DeviceMapping:
    """--device /dev/x[:/dev/y][:rwm], as Docker's parseLinuxDevice reads it."""
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise ValueError(f"invalid device specification: {text}")
    src, dst, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if _DEVICE_MODE.match(parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    if not _DEVICE_MODE.match(perms):
        raise ValueError(f"invalid device mode: {perms}")
    if not src.startswith("/") or (dst and not dst.startswith("/")):
        raise ValueError(f"{dst or src} is not an absolute path")
    return DeviceMapping(src, dst or src, perms)


def parse_device_rule(text: str) -> str:
    if not _DEVICE_RULE.match(text):
        raise ValueError(f"invalid device cgroup format '{text}'")
    return text


# flag name as pflag shows it, its parser
_FLAGS = {
    "memory": ("-m, --memory", ram_in_bytes), "memory_swap": ("--memory-swap", swap_bytes),
    "memory_reservation": ("--memory-reservation", ram_in_bytes), "cpus": ("--cpus", nano_cpus),
    "cpu_shares": ("-c, --cpu-shares", int64), "pids_limit": ("--pids-limit", int64),
    "blkio_weight": ("--blkio-weight", uint16),
}


def _value(name: str, text: str):
    shown, parse = _FLAGS[name]
    try:
        return parse(text)
    except ValueError as exc:
        raise UsageError(f'invalid argument "{text}" for "{shown}" flag: {exc}') from None


def _each(shown: str, parse, items) -> list:
    out = []
    for text in items:
        try:
            out.append(parse(text))
        except ValueError as exc:
            raise UsageError(f'invalid argument "{text}" for "{shown}" flag: {exc}') from None
    return out


def resources_spec(memory: str = "", memory_swap: str = "", memory_reservation: str = "",
                   oom_kill_disable: bool = False, cpus: str = "", cpu_shares: str = "", cpuset_cpus: str = "",
                   pids_limit: str = "", blkio_weight: str = "", cgroup_parent: str = "", device=(),
                   device_cgroup_rule=()) -> Resources:
    """Resources from the flags' strings ("" = not given), with the CLI's errors."""
    given = {k: v for k, v in (("memory", memory), ("memory_swap", memory_swap),
                               ("memory_reservation", memory_reservation), ("cpus", cpus),
                               ("cpu_shares", cpu_shares), ("pids_limit", pids_limit),
                               ("blkio_weight", blkio_weight)) if v != ""}
    values = {k: _value(k, v) for k, v in given.items()}
    return Resources(memory=values.get("memory", 0), memory_swap=values.get("memory_swap", 0),
                     memory_reservation=values.get("memory_reservation", 0), oom_kill_disable=oom_kill_disable,
                     nano_cpus=values.get("cpus", 0), cpu_shares=values.get("cpu_shares", 0), cpuset_cpus=cpuset_cpus,
                     pids_limit=values.get("pids_limit"), blkio_weight=values.get("blkio_weight", 0),
                     cgroup_parent=cgroup_parent, devices=_each("--device", parse_device, device),
                     device_cgroup_rules=_each("--device-cgroup-rule", parse_device_rule, device_cgroup_rule))


# ---------------------------------------------------------------- the daemon's checks

def cpu_list(text: str) -> set[int]:
    """A cpuset list ("0-2,4") as numbers; ValueError if malformed."""
    out: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"invalid format: {text}")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"invalid range format: {part}")
        out.update(range(first, last + 1))
    return out


def check(res: Resources, cpus: int, online: str, supported: set[str]) -> list[str]:
    """Docker's verifyPlatformContainerResources for what we take: raises the daemon's error for a
    value it refuses; returns its warnings, dropping (as it does) what this machine cannot hold.
    `supported` names the limits the cgroups here can hold (see kernel/cgroups.supported)."""
    warnings = []
    if res.memory and res.memory < MIN_MEMORY:
        raise DaemonError("Minimum memory limit allowed is 6MB", 125)
    if res.memory and "memory" not in supported:
        warnings.append("Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.")
        res.memory, res.memory_swap = 0, -1
    if res.memory and res.memory_swap != -1 and "swap" not in supported:
        warnings.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
                        "Memory limited without swap.")
        res.memory_swap = -1
    if res.memory and res.memory_swap > 0 and res.memory_swap < res.memory:
        raise DaemonError("Minimum memoryswap limit should be larger than memory limit, see usage", 125)
    if not res.memory and res.memory_swap > 0:
        raise DaemonError("You should always set the Memory limit when using Memoryswap limit, see usage", 125)
    if res.memory_reservation and "memory" not in supported:
        warnings.append("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.")
        res.memory_reservation = 0
    if res.memory_reservation and res.memory_reservation < MIN_MEMORY:
        raise DaemonError("Minimum memory reservation allowed is 6MB", 125)
    if res.memory and res.memory_reservation and res.memory < res.memory_reservation:
        raise DaemonError("Minimum memory limit can not be less than memory reservation limit, see usage", 125)
    if res.oom_kill_disable and "oom_kill_disable" not in supported:
        warnings.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        res.oom_kill_disable = False
    if res.oom_kill_disable and not res.memory:
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result in "
                        "the system running out of resources.")
    if res.pids_limit and res.pids_limit > 0 and "pids" not in supported:
        warnings.append("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
                        "PIDs limit discarded.")
        res.pids_limit = None
    if res.nano_cpus and "cpu_quota" not in supported:
        raise DaemonError("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup "
                          "is not mounted", 125)
    if res.nano_cpus < 0 or res.nano_cpus > cpus * 1_000_000_000:
        raise DaemonError(f"range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available", 125)
    if res.cpu_shares < 0:
        raise DaemonError(f"invalid CPU shares ({res.cpu_shares}): value must be a positive integer", 125)
    if res.cpu_shares and "cpu_shares" not in supported:
        warnings.append("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.")
        res.cpu_shares = 0
    if res.cpuset_cpus and "cpuset" not in supported:
        warnings.append("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.")
        res.cpuset_cpus = ""
    if res.cpuset_cpus:
        try:
            wanted = cpu_list(res.cpuset_cpus)
        except ValueError as exc:
            raise DaemonError(f"Invalid value {res.cpuset_cpus} for cpuset cpus: {exc}", 125) from None
        if not wanted <= cpu_list(online):
            raise DaemonError(f"Requested CPUs are not available - requested {res.cpuset_cpus}, available: {online}",
                              125)
    if res.blkio_weight and "blkio_weight" not in supported:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                        "Weight discarded.")
        res.blkio_weight = 0
    if res.blkio_weight and not 10 <= res.blkio_weight <= 1000:
        raise DaemonError("Range of blkio weight is from 10 to 1000", 125)
    return warnings
