"""The typed facts a container record keeps about its network and mounts, one shape each.

    Endpoint        a container's attachment to one bridge network (CNI's result of ADD); what was
                    asked for it is a specs.network.NetworkAttachment
    PublishedPort   a port that is really published: what -p asked for, as it was bound
    MountRecord     one -v / --mount, resolved (a volume's name and host path filled in)

The request side stays in specs/ (PortBinding, MountSpec); Docker's JSON for these (NetworkSettings,
Ports, Mounts, HostConfig.PortBindings) is made in one place, view/inspect.py. Everything here is a
frozen dataclass that turns into JSON with dataclasses.asdict and back with from_json.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields


@functools.cache
def _field_names(cls) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _known(cls, data: dict) -> dict:
    """Only the fields cls has (a record written by a newer version may carry more)."""
    names = _field_names(cls)
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class Endpoint:
    """A container's attachment to one bridge network."""

    network: str          # the network's name
    network_id: str
    bridge: str           # the host bridge the veth is a port of
    ip: str
    prefixlen: int
    gateway: str
    mac: str              # 02:42 + the IPv4 address, as Docker <= 27 derives it
    sandbox_key: str      # /run/netns/<12 hex>: the `ip netns` name of its namespace
    endpoint_id: str
    hairpin: bool = False  # --userland-proxy=false: hairpin mode on the bridge port
    host_if: str = ""     # the veth's host end (chosen at reserve, created at attach)
    ifname: str = "eth0"  # the veth's end inside the container
    aliases: tuple[str, ...] = ()
    gw_priority: int = 0  # Docker 28's gw-priority (see gateway_endpoint in network/attach.py)
    static_ip: bool = False  # --ip asked for this address (inspect's IPAMConfig)

    @classmethod
    def from_json(cls, data: dict) -> Endpoint:
        if "IPAddress" in data:  # written before the typed records: inspect's keys
            data = {"network": data["Network"], "network_id": data["NetworkID"], "bridge": data["Bridge"],
                    "ip": data["IPAddress"], "prefixlen": data["IPPrefixLen"], "gateway": data["Gateway"],
                    "mac": data["MacAddress"], "sandbox_key": data["SandboxKey"],
                    "endpoint_id": data["EndpointID"], "hairpin": data.get("Hairpin", False)}
        data = _known(cls, data)
        data["aliases"] = tuple(data.get("aliases", ()))
        return cls(**data)


def sandbox_order(endpoints: list[Endpoint]) -> list[Endpoint]:
    """A container's endpoints in libnetwork's Endpoint.Less order (gw-priority, has a gateway, name):
    the first with a gateway gives the default route; names are looked up in this order too."""
    return sorted(endpoints, key=lambda ep: (-ep.gw_priority, not ep.gateway, ep.network))


@dataclass(frozen=True)
class PublishedPort:
    """A port really published: what was bound, and by which proxy."""

    proto: str            # tcp | udp | sctp
    host_ip: str          # the address really bound: 0.0.0.0 and :: for "all"
    host_port: int        # the port really bound (a random one when -p gave none)
    container_port: int
    container_ip: str = ""
    proxy_pid: int = 0    # the userland proxy serving it; 0 without one (--userland-proxy=false)

    @classmethod
    def from_json(cls, data: dict) -> PublishedPort:
        return cls(**_known(cls, data))

    @property
    def key(self) -> str:
        """Docker's port key: 80/tcp."""
        return f"{self.container_port}/{self.proto}"

    @property
    def host_address(self) -> str:
        """0.0.0.0:8080, [::]:8080."""
        return f"[{self.host_ip}]:{self.host_port}" if ":" in self.host_ip else f"{self.host_ip}:{self.host_port}"

    @property
    def label(self) -> str:
        """0.0.0.0:8080/tcp."""
        return f"{self.host_address}/{self.proto}"


@dataclass(frozen=True)
class MountRecord:
    """One mount of a container, resolved (a volume's name and host path filled in)."""

    type: str                 # bind | volume | tmpfs
    source: str               # host path: the bind source or the volume's data directory ("" for tmpfs)
    target: str
    readonly: bool = False
    mode: str = ""            # the raw -v option string, as inspect shows it
    copy_data: bool = True    # volumes: copy the image's content into an empty volume
    create_source: bool = False  # -v binds: a missing host directory is created at start
    tmpfs_size: int = 0
    propagation: str = ""
    name: str = ""            # volumes: the volume's name (a random one for an anonymous volume)
    tmpfs_options: str = ""   # --tmpfs PATH:OPTIONS (HostConfig.Tmpfs)
    tmpfs_flag: bool = False  # made by --tmpfs: not listed in Mounts, as Docker
    fstype: str = ""          # a volume made with -o type=...: what is mounted instead of its directory
    fsdevice: str = ""        # ... its device (a bind's source for type=none)
    fsdata: str = ""          # ... and its o= options

    @classmethod
    def from_json(cls, data: dict) -> MountRecord:
        return cls(**_known(cls, data))
