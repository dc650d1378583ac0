"""Published ports (CNI's portmap, Docker's port mapper): a userland proxy per port and address
family, and the DNAT / hairpin / ACCEPT rules. Both are journaled steps, undone at teardown.

The request is a specs.ports.PortBinding (what -p said), the result a store.records.PublishedPort
(what was bound, by which proxy)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO

from minicontainer.errors import DaemonError
from minicontainer.kernel import proc
from minicontainer.kernel import syscalls as sc
from minicontainer.network.backends import LEGACY, iptables_command
from minicontainer.network.firewall import firewall_for
from minicontainer.plan import Step, journaled, state
from minicontainer.specs.ports import PortBinding
from minicontainer.store.records import Endpoint, PublishedPort


def _pdeathsig() -> None:
    sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGTERM)  # docker-proxy gets Pdeathsig: SIGTERM too


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
    """A userland proxy process for one published port and address family."""

    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    pid: int = 0
    start: int = 0
    outlives_launcher: bool = False  # launched by a command that exits (network connect): no pdeathsig
    child: subprocess.Popen | None = state()  # the proxy, when this process launched it
    status: IO[str] | None = state()  # where the proxy reports its bind (or why it failed)
    keep: int | None = state()  # we write "k" here once the proxy is journaled; EOF before that stops it

    @property
    def why(self) -> str:
        return (f"userland proxy: {self.host_ip}:{self.host_port}/{self.proto} -> "
                f"{self.container_ip}:{self.container_port} (what answers on 127.0.0.1)")

    def argv(self) -> list[str]:
        return ["-proto", self.proto, "-host-ip", self.host_ip, "-host-port", str(self.host_port),
                "-container-ip", self.container_ip, "-container-port", str(self.container_port)]

    def launch(self) -> None:
        """Start the proxy process without waiting for it (apply_host starts them all, then waits)."""
        r, w = os.pipe()
        keep_r, self.keep = os.pipe()
        env = {**os.environ, "MINICONTAINER_PROXY_STATUS_FD": str(w), "MINICONTAINER_PROXY_KEEP_FD": str(keep_r)}
        child = subprocess.Popen([sys.executable, "-m", "minicontainer.network.proxy", *self.argv()], env=env,
                                pass_fds=(w, keep_r), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=self.outlives_launcher,
                                preexec_fn=None if self.outlives_launcher else _pdeathsig)
        os.close(w)
        os.close(keep_r)
        self.child, self.status = child, os.fdopen(r)
        self.pid, self.start = child.pid, proc.start_ticks(child.pid)

    def do(self) -> None:
        if self.child is None:
            self.launch()
        with self.status as status:
            report = status.read()  # the proxy reports once it has bound the port (or failed to)
        self.status = None
        code, _, detail = report.partition("\n")
        if code != "0":
            self._release_keep()
            self.child.wait()
            raise bind_error(self.proto, self.host_ip, self.host_port, detail)
        self.host_port = int(detail.split()[0])
        self._release_keep(b"k")  # journaled before do() (Journal.apply): from now on the journal stops it
        self.child.returncode = 0  # it lives on after us: keep subprocess from warning about a running child

    def published(self) -> PublishedPort:
        return PublishedPort(self.proto, self.host_ip, self.host_port, self.container_port, self.container_ip, self.pid)

    def _release_keep(self, word: bytes = b"") -> None:
        """Tell the proxy it is journaled ("k"), or just close (it exits at EOF, if it still runs)."""
        if self.keep is not None:
            try:
                if word:
                    os.write(self.keep, word)
            except BrokenPipeError:
                pass  # it is gone already
            finally:
                os.close(self.keep)
                self.keep = None

    def undo(self) -> None:
        self._release_keep()
        if self.status is not None:
            self.status.close()
            self.status = None
        fd = proc.open_pidfd(self.pid, self.start)
        if fd is None:
            return
        try:
            signal.pidfd_send_signal(fd, signal.SIGTERM)
            if not proc.wait_pidfd(fd, 2):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                proc.wait_pidfd(fd, None)
        finally:
            os.close(fd)
        try:
            os.waitpid(self.pid, 0)  # reap it if it is our child (the supervisor's case)
        except ChildProcessError:
            pass

    def explain(self) -> str:
        return "minicontainer-proxy " + " ".join(self.argv()) + " </dev/null >/dev/null 2>&1 &"

    def explain_undo(self) -> str:
        # The runtime signals the exact process (pid and start time); by its arguments is what a script can do.
        return "pkill -f -- '" + " ".join(self.argv()) + "$'"


# Sockets HoldPort keeps open, by (proto, address, port): they live in the supervisor's memory only.
_held: dict[tuple, object] = {}


@journaled
@dataclass
class HoldPort(Step):
    """--userland-proxy=false: no proxy, but the host port stays ours, as Docker's dummy proxy keeps it.
    A bound socket that never listens: nothing else can bind the port, and since DNAT rewrites the
    packets before any socket lookup, it never sees a connection."""
    proto: str
    host_ip: str
    host_port: int
    container_port: int = 0
    container_ip: str = ""

    @property
    def why(self) -> str:
        return f"reserve {self.host_ip}:{self.host_port}/{self.proto} on the host (the kernel forwards it, no proxy)"

    def do(self) -> None:
        import socket
        family = socket.AF_INET6 if ":" in self.host_ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM if self.proto == "tcp" else socket.SOCK_DGRAM)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((self.host_ip, self.host_port))
        except OSError as exc:
            sock.close()
            raise bind_error(self.proto, self.host_ip, self.host_port, exc.strerror) from None
        self.host_port = sock.getsockname()[1]
        _held[(self.proto, self.host_ip, self.host_port)] = sock

    def undo(self) -> None:
        sock = _held.pop((self.proto, self.host_ip, self.host_port), None)
        if sock is not None:  # in any other process the socket died with the supervisor that held it
            sock.close()

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


def publish_steps(net, ep: Endpoint, bindings: list[PortBinding],
                  bound: list[PublishedPort] | None = None) -> tuple[list[Step], list[Step]]:
    """The rule steps and the proxy (or port holder) steps for each binding, a random host port
    chosen now unless `bound` (the ports as published before they moved to another endpoint) has
    one. Applied rules first, holders last (apply_host launches the proxies before both). A binding
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
                holders.append(StartProxy(b.proto, addr, host_port, ep.ip, b.container_port))
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


def apply_host(journal, steps: list[Step]) -> None:
    """Apply host-side steps through the journal, proxies launched first and confirmed last: their
    interpreters start on another core while this process loads python-iptables and commits the
    rules. A proxy launched but not yet journaled is stopped if anything fails (nobody else knows it)."""
    with ExitStack() as cleanup_on_fail:
        for step in steps:
            if isinstance(step, StartProxy):
                step.launch()
                cleanup_on_fail.callback(step.undo)
        journal.apply(steps)
        cleanup_on_fail.pop_all()


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
