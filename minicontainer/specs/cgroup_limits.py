"""What a container's cgroup files are given: Resources turned into the writes runc makes, for the
v1 hierarchies (a directory per controller) and for v2 (one directory). Pure: the kernel layer
(kernel/cgroups.py) says which version and which optional files this machine has.
"""

from __future__ import annotations

from dataclasses import dataclass

from minicontainer.specs.resources import CFS_PERIOD_US, Resources

# runc's AllowedDevices, which Docker's default spec leaves in place: making any node (mknod) is
# allowed, using one only for these: null, zero, full, random, urandom, tty, console, the pty
# master and slaves, and the tun device.
DEFAULT_DEVICE_RULES = [
    "c *:* m", "b *:* m",
    "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
]
ALL_DEVICES = "a *:* rwm"  # --privileged


@dataclass(frozen=True)
class Write:
    """One value written to one cgroup file. controller: the v1 hierarchy the file is in (on v2
    every file is in the container's one directory)."""

    controller: str
    file: str
    value: str


def v2_cpu_weight(shares: int) -> int:
    """cpu.shares (2..262144) on cgroup v2's cpu.weight scale (1..10000), as runc converts it."""
    return 1 + ((shares - 2) * 9999) // 262142


def v2_io_weight(weight: int) -> int:
    """blkio.weight (10..1000) on io.weight's scale (1..10000), as runc converts it."""
    return 1 + ((weight - 10) * 9999) // 990


def _swap_total(res: Resources) -> int:
    """Memory plus swap: what was asked, twice the memory when nothing was (Docker's default)."""
    return res.memory_swap or res.memory * 2


def device_rules(privileged: bool, extra: list[str]) -> list[str]:
    """The allow rules of the devices cgroup: every device for --privileged, else runc's list plus
    --device and --device-cgroup-rule."""
    return [ALL_DEVICES] if privileged else DEFAULT_DEVICE_RULES + list(extra)


def v1_writes(res: Resources, devices: list[str], blkio_weight_file: str = "blkio.weight") -> list[Write]:
    """The v1 writes, in an order the kernel accepts (memory before memory+swap, deny before allow)."""
    w = []
    if res.memory:
        w.append(Write("memory", "memory.limit_in_bytes", str(res.memory)))
        if res.memory_swap != -1:  # unlimited is what a new cgroup has (and all a host without swap accounting has)
            w.append(Write("memory", "memory.memsw.limit_in_bytes", str(_swap_total(res))))
    if res.memory_reservation:
        w.append(Write("memory", "memory.soft_limit_in_bytes", str(res.memory_reservation)))
    if res.oom_kill_disable:
        w.append(Write("memory", "memory.oom_control", "1"))
    if res.cpu_shares:
        w.append(Write("cpu", "cpu.shares", str(res.cpu_shares)))
    if res.nano_cpus:
        w += [Write("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US)),
              Write("cpu", "cpu.cfs_quota_us", str(res.nano_cpus * CFS_PERIOD_US // 1_000_000_000))]
    if res.cpuset_cpus:
        w.append(Write("cpuset", "cpuset.cpus", res.cpuset_cpus))
    if res.pids_limit and res.pids_limit > 0:
        w.append(Write("pids", "pids.max", str(res.pids_limit)))
    if res.blkio_weight:
        w.append(Write("blkio", blkio_weight_file, str(res.blkio_weight)))
    if devices != [ALL_DEVICES]:
        w.append(Write("devices", "devices.deny", "a"))
    w += [Write("devices", "devices.allow", rule) for rule in devices]
    return w


def v2_writes(res: Resources, io_weight_file: str = "io.weight") -> list[Write]:
    """The v2 writes (devices are a BPF program there, not a file; OomKillDisable does not exist)."""
    w = []
    if res.memory:
        w.append(Write("memory", "memory.max", str(res.memory)))
        if res.memory_swap != -1:
            w.append(Write("memory", "memory.swap.max", str(_swap_total(res) - res.memory)))
    if res.memory_reservation:
        w.append(Write("memory", "memory.low", str(res.memory_reservation)))
    if res.cpu_shares:
        w.append(Write("cpu", "cpu.weight", str(v2_cpu_weight(res.cpu_shares))))
    if res.nano_cpus:
        w.append(Write("cpu", "cpu.max", f"{res.nano_cpus * CFS_PERIOD_US // 1_000_000_000} {CFS_PERIOD_US}"))
    if res.cpuset_cpus:
        w.append(Write("cpuset", "cpuset.cpus", res.cpuset_cpus))
    if res.pids_limit and res.pids_limit > 0:
        w.append(Write("pids", "pids.max", str(res.pids_limit)))
    if res.blkio_weight:
        value = res.blkio_weight if io_weight_file == "io.bfq.weight" else v2_io_weight(res.blkio_weight)
        w.append(Write("io", io_weight_file, str(value)))
    return w
