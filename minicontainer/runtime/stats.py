"""What `stats` and `top` read of a running container: its cgroup's counters (CPU time, memory,
block I/O, pids; v1 or v2 files), its network namespace's interface counters, the processes in its
cgroup. Read-only: nothing here changes the kernel."""

from __future__ import annotations

import os
from dataclasses import dataclass

from minicontainer.kernel.cgroups import keyed, procs, read


@dataclass
class Sample:
    """One reading of a container, in Docker's units (nanoseconds of CPU, bytes)."""

    cpu_ns: int = 0
    system_ns: int = 0      # all CPUs' time since boot (the denominator of CPU %)
    online_cpus: int = 1
    mem_usage: int = 0      # without the inactive page cache, as Docker's CLI shows it
    mem_limit: int = 0
    net_rx: int = 0
    net_tx: int = 0
    blk_read: int = 0
    blk_write: int = 0
    pids: int = 0


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else 0


def system_ns() -> int:
    """The first line of /proc/stat (every CPU's time in clock ticks) in nanoseconds, as Docker's
    daemon reads it for system_cpu_usage."""
    fields = read("/proc/stat").split("\n", 1)[0].split()[1:8]
    return sum(int(f) for f in fields) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def host_memory() -> int:
    """MemTotal: the limit Docker reports for a container without one."""
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def net_counters(pid: int) -> tuple[int, int]:
    """rx and tx bytes of every interface but lo in the network namespace of pid."""
    rx = tx = 0
    for line in read(f"/proc/{pid}/net/dev").splitlines()[2:]:
        name, _, counters = line.partition(":")
        if name.strip() != "lo":
            values = counters.split()
            rx, tx = rx + int(values[0]), tx + int(values[8])
    return rx, tx


def cgroup_sample(step, out: Sample) -> None:
    """Fill out from the container's cgroup (a runtime/cgroup.MakeCgroup)."""
    v1 = step.version == 1
    has = (lambda c: c in step.mounts) if v1 else (lambda c: True)
    if has("cpuacct" if v1 else "cpu"):
        out.cpu_ns = (_int(read(os.path.join(step.where("cpuacct"), "cpuacct.usage"))) if v1 else
                      keyed(read(os.path.join(step.where("cpu"), "cpu.stat"))).get("usage_usec", 0) * 1000)
    if has("memory"):
        memory = step.where("memory")
        stat = keyed(read(os.path.join(memory, "memory.stat")))
        if v1:
            usage, inactive = _int(read(os.path.join(memory, "memory.usage_in_bytes"))), stat.get("total_inactive_file", 0)
            limit = _int(read(os.path.join(memory, "memory.limit_in_bytes")))
        else:
            usage, inactive = _int(read(os.path.join(memory, "memory.current"))), stat.get("inactive_file", 0)
            limit = _int(read(os.path.join(memory, "memory.max")))  # "max": no limit, read as 0
        out.mem_usage = usage - inactive if inactive < usage else usage
        machine = host_memory()
        out.mem_limit = limit if 0 < limit < machine else machine
    if has("pids"):
        out.pids = _int(read(os.path.join(step.where("pids"), "pids.current")))
    if v1 and has("blkio"):
        for line in read(os.path.join(step.where("blkio"), "blkio.throttle.io_service_bytes_recursive")).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in ("Read", "Write"):
                if parts[1] == "Read":
                    out.blk_read += int(parts[2])
                else:
                    out.blk_write += int(parts[2])
    elif not v1:
        for line in read(os.path.join(step.where("io"), "io.stat")).splitlines():
            fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            out.blk_read += _int(fields.get("rbytes", "0"))
            out.blk_write += _int(fields.get("wbytes", "0"))


def sample(step, pid: int, own_netns: bool) -> Sample:
    """One reading of a running container: its cgroup (step, None if it has none) and, with a
    network namespace of its own, its interfaces."""
    out = Sample(system_ns=system_ns(), online_cpus=os.cpu_count() or 1)
    if step is not None:
        cgroup_sample(step, out)
    if own_netns:
        out.net_rx, out.net_tx = net_counters(pid)
    return out


def cpu_percent(before: Sample, after: Sample) -> float:
    """Docker's CLI: the container's share of all CPUs' time between two readings, times the CPUs."""
    system = after.system_ns - before.system_ns
    cpu = after.cpu_ns - before.cpu_ns
    return cpu / system * after.online_cpus * 100.0 if system > 0 and cpu > 0 else 0.0


def processes(step, pid: int) -> set[int]:
    """The container's processes: those in its cgroup, or (no cgroup) those in its mount namespace."""
    if step is not None:
        controller = "pids" if step.version == 2 or "pids" in step.mounts else next(iter(step.mounts))
        return set(procs(step.where(controller)))
    from minicontainer.kernel.proc import in_mount_namespace
    try:
        return set(in_mount_namespace(os.stat(f"/proc/{pid}/ns/mnt").st_ino))
    except OSError:
        return set()
