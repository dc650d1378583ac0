"""Published ports (CNI's portmap, Docker's port mapper): a userland proxy per port and address
family (served by the container's supervisor), and the DNAT / hairpin / ACCEPT rules. Both are
journaled steps, undone at teardown.

The request is a specs.ports.PortBinding (what -p said), the result a store.records.PublishedPort
(what was bound, by which proxy)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from minicontainer.errors import DaemonError, MCError
from minicontainer.kernel import proc
from minicontainer.network.backends import LEGACY, iptables_command
from minicontainer.network.firewall import firewall_for
from minicontainer.plan import Step, journaled, state
from minicontainer.specs.ports import PortBinding
from minicontainer.store.records import Endpoint, PublishedPort


def allocated_error(name: str, cid: str, clash: PortBinding) -> DaemonError:
    """Docker's allocator refusal: another container publishes the same host port."""
    return DaemonError(f"driver failed programming external connectivity on endpoint {name} "
                       f"({cid[:12]}): Bind for {clash.host_ip or '0.0.0.0'}:{clash.host_label} "
                       "failed: port is already allocated", 125)


def bind_error(proto: str, host_ip: str, host_port: int, detail: str) -> DaemonError:
    """Docker's wording (its dummy proxy for --userland-proxy=false says the same)."""
    family = ("tcp" if proto == "tcp" else "udp") + ("6" if ":" in host_ip else "4")
    where = f"[{host_ip}]:{host_port}" if ":" in host_ip else f"{host_ip}:{host_port}"
    return DaemonError(f"failed to bind port {host_ip}:{host_port}/{proto}: Error starting userland proxy: "
                       f"listen {family} {where}: bind: {detail.strip().lower()}", 125)


@journaled
@dataclass
class StartProxy(Step):
    """A userland proxy for one published port and address family, served by the container's
    supervisor (network/proxy.py, network/served.py). Another process (a `network connect` moving
    the ports) asks the supervisor through its control socket in `owner`, the container's directory."""

    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    owner: str = ""  # the container's directory
    pid: int = 0     # the process serving it (the supervisor) and its start time
    start: int = 0

    @property
    def why(self) -> str:
        return (f"userland proxy: {self.host_ip}:{self.host_port}/{self.proto} -> "
                f"{self.container_ip}:{self.container_port} (what answers on 127.0.0.1)")

    def argv(self) -> list[str]:
        return ["-proto", self.proto, "-host-ip", self.host_ip, "-host-port", str(self.host_port),
                "-container-ip", self.container_ip, "-container-port", str(self.container_port)]

    def key(self) -> tuple:
        return ("proxy", self.proto, self.host_ip, self.host_port)

    def do(self) -> None:
        from minicontainer.network import served
        if served.supervises(self.owner):
            self.host_port = serve_proxy(self.proto, self.host_ip, self.host_port, self.container_ip,
                                         self.container_port)
            me = os.getpid()
            self.pid, self.start = me, proc.start_ticks(me)
            return
        from minicontainer.network.control import request
        reply = request(self.owner, "proxy", proto=self.proto, host_ip=self.host_ip, host_port=self.host_port,
                        container_ip=self.container_ip, container_port=self.container_port)
        if "bind" in reply:
            raise bind_error(self.proto, self.host_ip, self.host_port, reply["bind"])
        self.host_port, self.pid, self.start = reply["port"], reply["pid"], reply["start"]

    def published(self) -> PublishedPort:
        return PublishedPort(self.proto, self.host_ip, self.host_port, self.container_port, self.container_ip, self.pid)

    def undo(self) -> None:
        from minicontainer.network import served
        if served.stop(self.key()) or served.supervises(self.owner):
            return  # stopped here (or never served)
        # Asked even without a pid: a command killed inside do() journaled none, and the supervisor
        # may serve it all the same.
        from minicontainer.network.control import request
        try:
            request(self.owner, "unproxy", key=list(self.key()))
        except MCError:
            pass  # no supervisor listens: the proxy died with it

    def explain(self) -> str:
        return ("# (the container's supervisor serves this port; this is the same proxy as a process of its own)\n"
                "minicontainer-proxy " + " ".join(self.argv()) + " </dev/null >/dev/null 2>&1 &")

    def explain_undo(self) -> str:
        # The runtime closes the supervisor's listener; by its arguments is what a replayed script can do.
        return "pkill -f -- '" + " ".join(self.argv()) + "$'"


def serve_proxy(proto: str, host_ip: str, host_port: int, container_ip: str, container_port: int) -> int:
    """proxy.serve_here, with Docker's bind error; the host port it bound."""
    from minicontainer.network.proxy import serve_here
    try:
        return serve_here(proto, host_ip, host_port, container_ip, container_port).host_port
    except OSError as exc:
        raise bind_error(proto, host_ip, host_port, exc.strerror or str(exc)) from None


@journaled
@dataclass
class HoldPort(Step):
    """--userland-proxy=false: no proxy, but the host port stays ours, as Docker's dummy proxy keeps it
    (network/served.py HeldSocket: a bound socket that never listens, held by the supervisor)."""
    proto: str
    host_ip: str
    host_port: int
    container_port: int = 0
    container_ip: str = ""

    @property
    def why(self) -> str:
        return f"reserve {self.host_ip}:{self.host_port}/{self.proto} on the host (the kernel forwards it, no proxy)"

    def key(self) -> tuple:
        return ("hold", self.proto, self.host_ip, self.host_port)

    def do(self) -> None:
        import socket

        from minicontainer.network import served
        family = socket.AF_INET6 if ":" in self.host_ip else socket.AF_INET
        sock = socket.socket(family, (socket.SOCK_STREAM if self.proto == "tcp" else socket.SOCK_DGRAM) |
                             socket.SOCK_CLOEXEC)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((self.host_ip, self.host_port))
        except OSError as exc:
            sock.close()
            raise bind_error(self.proto, self.host_ip, self.host_port, exc.strerror) from None
        self.host_port = sock.getsockname()[1]
        served.add(served.HeldSocket(self.key(), sock))

    def undo(self) -> None:
        from minicontainer.network import served
        served.stop(self.key())  # in any other process the socket died with the supervisor that held it

    def published(self) -> PublishedPort:
        return PublishedPort(self.proto, self.host_ip, self.host_port, self.container_port, self.container_ip)

    def explain(self) -> str:
        return f"# (no command: the supervisor holds a bound socket on {self.host_ip}:{self.host_port}/{self.proto})"

    def explain_undo(self) -> str:
        return f"# (the supervisor closes its socket on {self.host_ip}:{self.host_port}/{self.proto})"


@journaled
@dataclass
class PublishRules(Step):
    """The DNAT, hairpin MASQUERADE and ACCEPT rules of one published port."""

    chain_prefix: str
    bridge: str
    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    userland_proxy: bool = True
    backend: str = LEGACY             # where the rules go (journals before the choice: legacy)
    done: list[str] | None = state()  # the commands do() really ran

    def _firewall(self):
        from minicontainer.network.rules import Chains
        return firewall_for(self.backend, Chains(self.chain_prefix))

    def rules(self):
        from minicontainer.network.rules import Chains, port_rules
        return port_rules(Chains(self.chain_prefix), self.bridge, self.proto, self.host_ip, self.host_port,
                          self.container_ip, self.container_port, self.userland_proxy)

    @property
    def why(self) -> str:
        return next(r.why for r in self.rules() if r.target == "DNAT")

    def do(self) -> None:
        self.done = self._firewall().add(self.rules())

    def undo(self) -> None:
        self._firewall().remove(list(reversed(self.rules())))

    def explain(self) -> str:
        done = self.done
        if done is None:
            done = [r.planned_command(iptables_command(self.backend)) for r in self.rules()]
        return "\n".join(done) or "# (no command: these rules are in the kernel already)"

    def explain_undo(self) -> str:
        return "\n".join(r.command("-D", iptables=iptables_command(self.backend)) for r in reversed(self.rules()))


def ipv6_enabled() -> bool:
    return os.path.exists("/proc/net/if_inet6")


def free_port(proto: str, host_ip: str) -> int:
    """A free host port from the kernel's ephemeral range (what Docker's allocator draws from)."""
    import socket
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host_ip or "0.0.0.0", 0))
        return s.getsockname()[1]


def publish_steps(net, ep: Endpoint, bindings: list[PortBinding], owner: str,
                  bound: list[PublishedPort] | None = None) -> tuple[list[Step], list[Step]]:
    """The rule steps and the proxy (or port holder) steps for each binding, a random host port
    chosen now unless `bound` (the ports as published before they moved to another endpoint) has
    one. Applied rules first, holders last. owner: the container's directory (network/control.py). A binding
    without an address uses the network's host_binding_ipv4, as Docker's bridge driver does."""
    holders: list[Step] = []
    rules: list[Step] = []
    for b in bindings:
        host_ip = b.host_ip or net.host_binding_ipv4
        # [::] is served by a proxy only: without one (and without IPv6 rules) Docker has no :: entry
        wildcard_v6 = ["::"] if net.userland_proxy and ipv6_enabled() else []
        addrs = [host_ip] if host_ip else ["0.0.0.0"] + wildcard_v6
        earlier = [p.host_port for p in bound or () if p.proto == b.proto and p.container_port == b.container_port]
        if earlier and (not b.host_port or b.host_port_end):
            host_port = earlier[0]
        elif b.host_port_end:
            host_port = _first_bindable(b.proto, host_ip, b.host_ports)
        else:
            host_port = b.host_port or free_port(b.proto, host_ip)
        for addr in addrs:
            if net.userland_proxy:
                holders.append(StartProxy(b.proto, addr, host_port, ep.ip, b.container_port, owner))
            else:
                holders.append(HoldPort(b.proto, addr, host_port, b.container_port, ep.ip))
        if ":" not in (host_ip or "0.0.0.0"):  # IPv4 rules only: [::] is served by the proxy alone, as in Docker
            rules.append(PublishRules(net.chain_prefix, net.bridge, b.proto, host_ip, host_port, ep.ip,
                                      b.container_port, net.userland_proxy, net.firewall_backend))
    return rules, holders


def is_port_step(step: Step) -> bool:
    """Selects the journaled steps of the published ports (for Journal.undo(only=...))."""
    return isinstance(step, (PublishRules, StartProxy, HoldPort))


def published(steps: list[Step]) -> list[PublishedPort]:
    """What the applied holder steps really bound (Docker's NetworkSettings.Ports)."""
    return [s.published() for s in steps if isinstance(s, (StartProxy, HoldPort))]


def conflicts(wanted: list[PortBinding], taken: list[PublishedPort]) -> PortBinding | None:
    """Docker's allocator check: the same proto and host port on the same (or a wildcard) address;
    for a host range, every port of it."""
    for w in wanted:
        if not w.host_port:
            continue
        held = {t.host_port for t in taken if t.proto == w.proto and
                (not w.host_ip or w.host_ip == t.host_ip or t.host_ip in ("0.0.0.0", "::"))}
        if all(port in held for port in w.host_ports):
            return w
    return None


def _first_bindable(proto: str, host_ip: str, ports: range) -> int:
    """The first port of a -p host range nothing holds now (another container's proxy or port
    holder has its own bound), as Docker's allocator hands out a free port of the range."""
    import socket
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    for port in ports:
        with socket.socket(family, kind) as s:
            try:
                s.bind((host_ip or "0.0.0.0", port))
            except OSError:
                continue
            return port
    raise DaemonError(f"Bind for {host_ip or '0.0.0.0'}:{ports.start}-{ports.stop - 1} failed: port is already "
                      "allocated", 125)
