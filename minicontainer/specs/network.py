"""What a container asks of each network it joins (Docker's EndpointSettings config), parsed and
checked the way the docker CLI does it (cli/command/container/opts.go parseNetworkOpts,
opts/network.go). Pure: no record is read.

    --network NAME                    one attachment
    --network name=N,ip=A,alias=X,mac-address=M,gw-priority=P   the long syntax (Docker >= 25)
    --ip, --mac-address, --network-alias   apply to the first --network, as in Docker
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from minicontainer.errors import MCError

PREDEFINED = ("bridge", "host", "none")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_LONG_SYNTAX = re.compile(r"\w+=\w+(,\w+=\w+)*")  # the CLI's own test for the long syntax


@dataclass(frozen=True)
class NetworkAttachment:
    """One network a container is (to be) connected to, and what was asked for its endpoint."""

    network: str                    # the network's name ("bridge" for Docker's "default")
    ip: str = ""                    # --ip: a static IPv4 address ("" = the next free one)
    mac: str = ""                   # --mac-address ("" = 02:42 + the IPv4 address)
    aliases: tuple[str, ...] = ()   # --network-alias
    gw_priority: int = 0            # Docker 28's gw-priority: the highest gives the default route

    @classmethod
    def from_json(cls, data: dict) -> NetworkAttachment:
        return cls(network=data["network"], ip=data.get("ip", ""), mac=data.get("mac", ""),
                   aliases=tuple(data.get("aliases", ())), gw_priority=data.get("gw_priority", 0))


def is_user_defined(name: str) -> bool:
    """Docker's NetworkMode.IsUserDefined: not default, bridge, host, none or container:X."""
    return name not in ("default", *PREDEFINED) and not name.startswith("container:")


def _refuse(message: str) -> MCError:
    """The CLI's own refusals (`docker: ...`, exit 125): made before any request to the daemon."""
    return MCError(message, 125)


def check_ip(value: str, flag: str = "--ip") -> str:
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        raise _refuse(f'invalid argument "{value}" for "{flag}" flag: invalid string being converted to IP address: '
                      f"{value}") from None
    if addr.version == 6:
        raise _refuse(f"IPv6 is not supported by minicontainer yet: {flag} {value}")
    return str(addr)


def check_mac(value: str) -> str:
    if not _MAC_RE.match(value.strip()):
        raise _refuse(f"{value} is not a valid mac address")
    return value.strip().lower()


def parse_network_opt(value: str) -> NetworkAttachment:
    """One --network value: a name, or the long syntax name=..,ip=..,alias=..,mac-address=..,gw-priority=.."""
    if not _LONG_SYNTAX.search(value):
        return NetworkAttachment("bridge" if value == "default" else value)
    fields: dict = {"network": "", "aliases": []}
    for part in value.split(","):
        key, eq, val = part.partition("=")
        key, val = key.strip().lower(), val.strip()
        if not eq or not key:
            raise _refuse(f"invalid field {part}")
        if key == "name":
            fields["network"] = val
        elif key == "alias":
            fields["aliases"].append(val)
        elif key == "ip":
            fields["ip"] = check_ip(val, "ip")
        elif key == "mac-address":
            fields["mac"] = check_mac(val)
        elif key == "gw-priority":
            try:
                fields["gw_priority"] = int(val)
            except ValueError:
                raise _refuse(f"invalid gw-priority ({val}): invalid syntax") from None
        elif key in ("ip6", "link-local-ip", "driver-opt"):
            raise _refuse(f"not supported by minicontainer yet: --network {key}=...")
        else:
            raise _refuse(f"invalid field key {key}")
    if not fields["network"]:
        raise _refuse("network name/id is not specified")
    if fields["network"] == "default":
        fields["network"] = "bridge"
    fields["aliases"] = tuple(fields["aliases"])
    return NetworkAttachment(**fields)


def attachments(values: Sequence[str], ip: str = "", mac: str = "", aliases: Sequence[str] = ()) -> list[NetworkAttachment]:
    """The networks `run`/`create` asked for, in order (the first is HostConfig.NetworkMode), with
    --ip/--mac-address/--network-alias applied to the first, refused where the CLI refuses them."""
    parsed = [parse_network_opt(v) for v in values if v != ""] or [NetworkAttachment("bridge")]  # "" is the default
    first = parsed[0]
    if aliases and first.aliases:
        raise _refuse("conflicting options: cannot specify both --network-alias and per-network alias")
    if ip and first.ip:
        raise _refuse("conflicting options: cannot specify both --ip and per-network IPv4 address")
    if mac and first.mac:
        raise _refuse("conflicting options: cannot specify both --mac-address and per-network MAC address")
    parsed[0] = NetworkAttachment(first.network, check_ip(ip) if ip else first.ip, check_mac(mac) if mac else first.mac,
                                  tuple(aliases) or first.aliases, first.gw_priority)
    seen: set[str] = set()
    for att in parsed:
        if not att.network.strip():
            raise _refuse("no name set for network")
        if att.aliases and not is_user_defined(att.network):
            raise _refuse("network-scoped aliases are only supported for user-defined networks")
        if att.network in seen:
            raise _refuse(f'network "{att.network}" is specified multiple times')
        seen.add(att.network)
    kinds = {is_user_defined(a.network) for a in parsed}
    if len(kinds) > 1:
        raise _refuse("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    return parsed
