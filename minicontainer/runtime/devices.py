"""--device: a host device node made again in the container's /dev, and let through its devices
cgroup, with the type, numbers and mode the host's node has (Docker's DeviceFromPath)."""

from __future__ import annotations

import os
import stat

from minicontainer.errors import DaemonError
from minicontainer.kernel.mounts import DeviceNode
from minicontainer.specs.resources import DeviceMapping, Resources


def host_node(mapping: DeviceMapping) -> DeviceNode:
    """The node to make at mapping's path in the container, as the host's is; Docker's error if
    there is no device there."""
    shown = f'error gathering device information while adding custom device "{mapping.path_on_host}"'
    try:
        info = os.stat(mapping.path_on_host)
    except OSError as exc:
        raise DaemonError(f"{shown}: {(exc.strerror or str(exc)).lower()}", 125) from None
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)):
        raise DaemonError(f"{shown}: not a device node", 125)
    if not mapping.path_in_container.startswith("/dev/"):
        raise DaemonError(f"--device {mapping.path_on_host}:{mapping.path_in_container}: minicontainer makes "
                          "device nodes under /dev only", 125)
    return DeviceNode(mapping.path_in_container[len("/dev/"):], os.major(info.st_rdev), os.minor(info.st_rdev),
                      stat.S_IMODE(info.st_mode), "c" if stat.S_ISCHR(info.st_mode) else "b")


def nodes(res: Resources) -> list[DeviceNode]:
    return [host_node(m) for m in res.devices]


def allow_rules(res: Resources) -> list[str]:
    """--device mappings as devices-cgroup allow rules, then --device-cgroup-rule's."""
    rules = []
    for mapping in res.devices:
        node = host_node(mapping)
        rules.append(f"{node.kind} {node.major}:{node.minor} {mapping.permissions}")
    return rules + list(res.device_cgroup_rules)
