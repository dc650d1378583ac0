"""`network create` input as a validated dataclass: the IPAM flags checked as the docker CLI checks
them (cli/command/network/create.go createIPAMConfig), the bridge driver's -o options parsed as
its fromLabels does (libnetwork/drivers/bridge). Pure: nothing is read but the arguments.

    -o com.docker.network.bridge.name=NAME            the bridge's name (default br-<12 hex of the id>)
    -o com.docker.network.bridge.enable_icc=BOOL      containers on the bridge may talk to each other
    -o com.docker.network.bridge.enable_ip_masquerade=BOOL   MASQUERADE for traffic leaving the bridge
    -o com.docker.network.bridge.host_binding_ipv4=IP -p's host address when it names none
    -o com.docker.network.driver.mtu=N                the bridge's and every veth's MTU
Options the bridge driver does not know are kept (network inspect shows them) and do nothing, as in Docker.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from minicontainer.errors import DaemonError, MCError

BRIDGE_NAME = "com.docker.network.bridge.name"
ENABLE_ICC = "com.docker.network.bridge.enable_icc"
ENABLE_MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"
MTU = "com.docker.network.driver.mtu"
NOT_YET = ("com.docker.network.bridge.inhibit_ipv4", "com.docker.network.bridge.gateway_mode_ipv4",
           "com.docker.network.bridge.gateway_mode_ipv6", "com.docker.network.bridge.trusted_host_interfaces",
           "com.docker.network.container_iface_prefix", "com.docker.network.enable_ipv6")
_TRUE, _FALSE = ("1", "t", "T", "true", "TRUE", "True"), ("0", "f", "F", "false", "FALSE", "False")  # Go's ParseBool


@dataclass(frozen=True)
class CreateOptions:
    """What `network create` asked for, checked."""

    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    internal: bool = False
    bridge_name: str = ""
    icc: bool = True
    masquerade: bool = True
    host_binding_ipv4: str = ""
    mtu: int = 0
    options: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)


def _parse_error(key: str, value: str, why: str) -> DaemonError:
    return DaemonError(f"failed to parse {key} value: {value} ({why})", 1)


def _bool(key: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _parse_error(key, value, f'strconv.ParseBool: parsing "{value}": invalid syntax')


def _key_values(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise MCError(f"invalid {what}: {item}", 1)
        out[key] = value
    return out


def _network(value: str, what: str = "subnet"):
    try:
        return ipaddress.ip_network(value)
    except ValueError as exc:
        raise DaemonError(f"invalid {what} {value}: {exc}", 1) from None


def _ipam(subnets: list[str], gateways: list[str], ranges: list[str]) -> tuple[str, str, str]:
    """One subnet (the bridge driver takes one per family), its gateway and its range."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise MCError("every ip-range or gateway must have a corresponding subnet", 1)
    nets = [_network(s) for s in subnets]
    if any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:]):
        raise MCError("multiple overlapping subnet configuration is not supported", 1)
    if any(n.version == 6 for n in nets):
        raise MCError("IPv6 networks are not supported by minicontainer yet (--subnet " + subnets[-1] + ")", 1)
    if len(nets) > 1:
        raise DaemonError("bridge driver doesn't support multiple subnets", 1)
    subnet = nets[0] if nets else None
    ip_range = ""
    for r in ranges:
        rng = _network(r, "ip-range")
        if subnet is None or not rng.subnet_of(subnet):
            raise MCError(f"no matching subnet for range {r}", 1)
        if ip_range:
            raise MCError(f"cannot configure multiple ranges ({r}, {ip_range}) on the same subnet ({subnets[0]})", 1)
        ip_range = str(rng)
    gateway = ""
    for g in gateways:
        try:
            addr = ipaddress.ip_address(g)
        except ValueError:
            raise MCError(f'invalid argument "{g}" for "--gateway" flag: invalid string being converted to IP address: '
                          f"{g}", 1) from None
        if subnet is None or addr not in subnet:
            raise MCError(f"no matching subnet for gateway {g}", 1)
        if gateway:
            raise MCError(f"cannot configure multiple gateways ({g}, {gateway}) for the same subnet ({subnets[0]})", 1)
        gateway = str(addr)
    return (str(subnet) if subnet else "", gateway, ip_range)


def create_options(subnets: Sequence[str] = (), gateways: Sequence[str] = (), ranges: Sequence[str] = (),
                   opts: Sequence[str] = (), labels: Sequence[str] = (), internal: bool = False) -> CreateOptions:
    subnet, gateway, ip_range = _ipam(list(subnets), list(gateways), list(ranges))
    options = _key_values(list(opts), "option")
    for key in options:
        if key in NOT_YET:
            raise MCError(f"not supported by minicontainer yet: -o {key}", 1)
    mtu = 0
    if MTU in options:
        try:
            mtu = int(options[MTU])
        except ValueError:
            raise _parse_error(MTU, options[MTU], f'strconv.Atoi: parsing "{options[MTU]}": invalid syntax') from None
        if mtu < 0:
            raise DaemonError(f"invalid MTU number: {mtu}", 1)
        if mtu and not 68 <= mtu <= 65535:  # what the kernel accepts for a bridge and a veth
            raise DaemonError(f"invalid MTU number: {mtu} (the kernel takes 68 to 65535)", 1)
    binding = options.get(HOST_BINDING, "")
    if binding:
        try:
            ipaddress.IPv4Address(binding)
        except ValueError:
            raise _parse_error(HOST_BINDING, binding, "nil ip") from None
    name = options.get(BRIDGE_NAME, "")
    if name and (len(name) > 15 or "/" in name or name.strip() != name or name in (".", "..")):
        raise DaemonError(f"invalid bridge name: {name} (a Linux interface name: at most 15 characters, no / or spaces)", 1)
    return CreateOptions(subnet=subnet, gateway=gateway, ip_range=ip_range, internal=internal, bridge_name=name,
                         icc=_bool(ENABLE_ICC, options[ENABLE_ICC]) if ENABLE_ICC in options else True,
                         masquerade=_bool(ENABLE_MASQUERADE, options[ENABLE_MASQUERADE]) if ENABLE_MASQUERADE in options else True,
                         host_binding_ipv4=binding, mtu=mtu, options=options,
                         labels=_key_values(list(labels), "label"))
