"""The ordered steps that turn a forked child into a container (the libcontainer order).

Everything here runs in the child, inside its new mount namespace: nothing needs undoing on the
host, the mounts vanish with the namespace when the container's pid 1 exits.
"""

from __future__ import annotations

from minicontainer.kernel import mounts as m
from minicontainer.kernel import syscalls as sc
from minicontainer.kernel.netdev import LinkUp
from minicontainer.kernel.uts import SetHostname
from minicontainer.plan import Plan

NSD = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC


def container_plan(*, lower: list[str], upper: str, work: str, merged: str, etc_files: dict[str, str],
                   hostname: str | None, private_net: bool, volume_steps: list | None = None,
                   privileged: bool = False, devices: list[m.DeviceNode] | None = None,
                   sysctls: dict[str, str] | None = None, read_only: bool = False) -> Plan:
    """etc_files maps an in-container path (/etc/hosts) to the host file bind-mounted there;
    volume_steps are the -v / --mount mounts (runtime/volumes.py), made before pivot_root;
    hostname None: the container shares the host's UTS namespace (--uts host) and sets none;
    privileged: /sys writable, the host's devices, nothing masked or read-only (Docker's --privileged);
    devices: --device nodes besides the default ones; sysctls: --sysctl; read_only: --read-only."""
    plan = Plan([LinkUp("lo")] if private_net else [])
    plan.extend([
        m.MakeMountsPrivate(),
        m.MountOverlay(lower, upper, work, merged),
        m.MountFs("proc", merged, "/proc", NSD, why="a /proc that shows only the container's pid namespace"),
        m.MountFs("tmpfs", merged, "/dev", sc.MS_NOSUID, "mode=755,size=65536k",
                  why="a private /dev, populated below with a few safe devices"),
        m.PopulateDev(f"{merged}/dev", nodes=m.host_devices(), why="--privileged: every device of the host")
        if privileged else m.PopulateDev(f"{merged}/dev", nodes=m.DEFAULT_DEVICES + list(devices or [])),
        m.MountFs("devpts", merged, "/dev/pts", sc.MS_NOSUID | sc.MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620,gid=5",
                  why="the container's own pseudo-terminals (its tty comes from here)"),
        m.MountFs("tmpfs", merged, "/dev/shm", NSD, "mode=1777,size=65536k", why="POSIX shared memory, 64 MiB"),
        m.MountFs("mqueue", merged, "/dev/mqueue", NSD, why="POSIX message queues of the container's IPC namespace"),
        m.MountFs("sysfs", merged, "/sys", NSD, why="/sys writable: --privileged") if privileged else
        m.MountFs("sysfs", merged, "/sys", sc.MS_RDONLY | NSD, why="/sys read-only, as Docker mounts it"),
    ])
    plan.extend(volume_steps or [])
    for target, source in etc_files.items():
        plan.add(m.BindMount(source, merged, target, why=f"{target} written for this container, like Docker's"))
    plan.add(m.PivotRoot(merged))
    if read_only:
        plan.add(m.ReadonlyRoot())
    if sysctls:
        plan.add(m.WriteSysctls(dict(sysctls)))
    if not privileged:
        plan.extend([m.MaskPaths(list(m.MASKED_PATHS)), m.ReadonlyPaths(list(m.READONLY_PATHS))])
    if hostname is not None:
        plan.add(SetHostname(hostname))
    return plan
