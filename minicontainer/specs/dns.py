"""--dns, --dns-search, --dns-option, --add-host and --link as a validated value, with the docker
CLI's own refusals (opts.ValidateIPAddress, ValidateDNSSearch, ValidateExtraHost, ParseLink)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from minicontainer.errors import UsageError

HOST_GATEWAY = "host-gateway"  # --add-host NAME:host-gateway: the default bridge's gateway, as dockerd's default
_DOMAIN = re.compile(r"^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))(:?\.(:?[a-zA-Z0-9]|"
                     r"(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])))*)\.?\s*$")


@dataclass(frozen=True)
class DnsSpec:
    """What a container's /etc/resolv.conf and /etc/hosts get besides the defaults, as HostConfig keeps it."""

    servers: tuple[str, ...] = ()      # HostConfig.Dns
    search: tuple[str, ...] = ()       # HostConfig.DnsSearch
    options: tuple[str, ...] = ()      # HostConfig.DnsOptions
    extra_hosts: tuple[str, ...] = ()  # HostConfig.ExtraHosts: "NAME:IP" or "NAME:host-gateway"
    links: tuple[str, ...] = ()        # "NAME:ALIAS" (HostConfig.Links shows "/NAME:/CONTAINER/ALIAS")


def _flag_error(flag: str, value: str, why: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "--{flag}" flag: {why}')


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value.strip()))


def check_dns(value: str) -> str:
    try:
        return _ip(value)
    except ValueError:
        raise _flag_error("dns", value, f'ip address is not correctly formatted: "{value}"') from None


def check_search(value: str) -> str:
    if value.strip(" ") == ".":
        return "."
    domain = value.strip(" ")
    if not _DOMAIN.match(domain) or len(domain) > 255 or not re.search(r"[a-zA-Z]", domain):
        raise _flag_error("dns-search", value, f"{value} is not a valid domain")
    return domain


def check_extra_host(value: str) -> str:
    name, sep, ip = value.partition("=") if "=" in value else value.partition(":")
    if not sep or not name:
        raise _flag_error("add-host", value, f'bad format for add-host: "{value}"')
    if ip != HOST_GATEWAY:
        try:
            _ip(ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip)
        except ValueError:
            raise _flag_error("add-host", value, f'invalid IP address in add-host: "{ip}"') from None
    return f"{name}:{ip}"


def check_link(value: str) -> str:
    name, _, alias = value.partition(":")
    name, alias = name.strip("/"), (alias or name).strip("/")
    if not name or not alias or value.count(":") > 1:
        raise _flag_error("link", value, f"bad format for links: {value}")
    return f"{name}:{alias}"


def dns_spec(dns=(), dns_search=(), dns_option=(), add_host=(), link=()) -> DnsSpec:
    return DnsSpec(tuple(map(check_dns, dns)), tuple(map(check_search, dns_search)), tuple(dns_option),
                   tuple(map(check_extra_host, add_host)), tuple(map(check_link, link)))


def extra_host_ip(entry: str) -> tuple[str, str]:
    """("NAME", "IP or host-gateway") of an ExtraHosts entry; an IPv6 address loses its brackets."""
    name, _, ip = entry.partition(":")
    return name, ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
