"""-p/--publish: Docker's syntax [ip:][hostPort:]containerPort[/proto], ranges included, with the
messages of Docker's parser (go-connections nat.ParsePortSpec)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from minicontainer.errors import MCError


@dataclass(frozen=True)
class PortBinding:
    """One -p request: a container port, and the host address and port asked for it."""

    proto: str           # tcp | udp
    container_port: int
    host_ip: str         # "" = all addresses (0.0.0.0 and ::)
    host_port: int       # 0 = pick a free one
    host_port_end: int = 0  # -p 8000-8010:80: any free port from host_port to this one (0: just host_port)

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    @property
    def host_ports(self) -> range:
        """The host ports it may get (one, unless a host range was given for a single container port)."""
        return range(self.host_port, (self.host_port_end or self.host_port) + 1)

    @property
    def host_label(self) -> str:
        """Its host port as Docker writes it: "8080", "8000-8010", or "" for a random one."""
        if not self.host_port:
            return ""
        return f"{self.host_port}-{self.host_port_end}" if self.host_port_end else str(self.host_port)


def _port_range(text: str, what: str) -> tuple[int, int]:
    lo, dash, hi = text.partition("-")
    if dash and not (lo and hi):  # "21090-" or "-80": go-connections refuses an open end
        raise MCError(f"invalid {what}: {text}", 125)
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        raise MCError(f"invalid {what}: {text}", 125) from None
    if not (0 <= a <= 65535 and 0 <= b <= 65535) or b < a:
        raise MCError(f"invalid {what}: {text}", 125)
    return a, b


def parse_publish(spec: str) -> list[PortBinding]:
    body, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise MCError(f"invalid proto: {proto}", 125)
    host_ip, host_part = "", ""
    if body.startswith("["):  # [::1]:8080:80
        end = body.find("]")
        host_ip, rest = body[1:end], body[end + 2:]
        host_part, _, ctr_part = rest.rpartition(":")
    else:
        fields = body.split(":")
        if len(fields) == 1:
            ctr_part = fields[0]
        elif len(fields) == 2:
            host_part, ctr_part = fields
        elif len(fields) == 3:
            host_ip, host_part, ctr_part = fields
        else:
            raise MCError(f"invalid port format: {spec}", 125)
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise MCError(f"invalid IP address: {host_ip}", 125) from None
    if not ctr_part:
        raise MCError(f"no port specified: {body}<empty>", 125)
    c_lo, c_hi = _port_range(ctr_part, "containerPort")
    if c_lo == 0:
        raise MCError(f"invalid containerPort: {ctr_part}", 125)
    h_lo, h_hi = _port_range(host_part, "hostPort") if host_part else (0, 0)
    count = c_hi - c_lo + 1
    if host_part and h_hi - h_lo + 1 != count and not (h_hi > h_lo and count == 1):
        raise MCError(f"invalid ranges specified for container and host Ports: {ctr_part} and {host_part}", 125)
    if host_part and count == 1 and h_hi > h_lo:  # one container port, a host range: a free port of it
        return [PortBinding(proto, c_lo, host_ip, h_lo, h_hi)]
    return [PortBinding(proto, c_lo + i, host_ip, h_lo + i if host_part else 0) for i in range(count)]


def parse_all(specs: list[str]) -> list[PortBinding]:
    out: list[PortBinding] = []
    for spec in specs:
        out += parse_publish(spec)
    return out


def parse_expose(spec: str) -> list[str]:
    """--expose PORT[/PROTO] or START-END[/PROTO]: the ExposedPorts keys ("80/tcp"), as the docker CLI
    expands them."""
    if ":" in spec:
        raise MCError(f"invalid port format for --expose: {spec}", 125)
    port, _, proto = spec.partition("/")
    lo, dash, hi = port.partition("-")
    try:
        a, b = int(lo), int(hi) if dash else int(lo)
    except ValueError:
        bad = hi if dash and lo.isdigit() else lo
        raise MCError(f'invalid range format for --expose: {spec}, error: strconv.ParseUint: parsing "{bad}": '
                      "invalid syntax", 125) from None
    if b < a or b > 65535:
        raise MCError(f"invalid range format for --expose: {spec}, error: invalid range: {port}", 125)
    return [f"{n}/{proto or 'tcp'}" for n in range(a, b + 1)]
