"""The /etc/hostname, /etc/hosts and /etc/resolv.conf Docker writes for each container.

They live in the container's state directory and are bind-mounted over the image's files, so the
image is never changed and the host can read (and later issues rewrite) them.
"""

from __future__ import annotations

HOSTS_HEADER = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""
ETC_FILES = ("hostname", "hosts", "resolv.conf")  # in the container's state directory, bound over /etc/<name>
DEFAULT_NAMESERVERS = ["8.8.8.8", "8.8.4.4"]  # what Docker falls back to; written, never contacted here


def hosts(ips: list[str], hostname: str) -> str:
    """A line for each address the container has, one per network (Docker adds one at a connect)."""
    return HOSTS_HEADER + "".join(f"{ip}\t{hostname}\n" for ip in ips)


def _is_loopback(addr: str) -> bool:
    import ipaddress
    try:
        return ipaddress.ip_address(addr.split("%")[0]).is_loopback
    except ValueError:
        return False


def resolv_conf(host_text: str, host_network: bool) -> str:
    """The host's resolv.conf; for a private network, minus loopback resolvers it could not reach."""
    if host_network:
        return host_text
    lines, servers = [], 0
    for line in host_text.splitlines():
        fields = line.split()
        if fields[:1] == ["nameserver"] and len(fields) > 1:
            if _is_loopback(fields[1]):
                continue
            servers += 1
        lines.append(line)
    if not servers:
        lines += [f"nameserver {ns}" for ns in DEFAULT_NAMESERVERS]
    return "\n".join(lines) + "\n"


def container_files(hostname: str, host_files: bool, ips: list[str] = ()) -> dict[str, str]:
    """The text of a container's /etc files: host mode gets the host's hosts and resolv.conf;
    otherwise hosts names its addresses once it has them."""
    hosts_text = _read("/etc/hosts") if host_files else hosts(list(ips), hostname)
    return {"hostname": hostname + "\n", "hosts": hosts_text,
            "resolv.conf": resolv_conf(_read("/etc/resolv.conf"), host_files)}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""
