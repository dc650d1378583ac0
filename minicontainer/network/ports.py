"""Published ports (CNI's portmap, Docker's port mapper): a userland proxy per port and address
family, and the DNAT / hairpin / ACCEPT rules. Both are journaled steps, undone at teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass

from minicontainer.errors import DaemonError
from minicontainer.kernel import syscalls as sc
from minicontainer.plan import Step, journaled
from minicontainer.runtime import liveness


def _pdeathsig() -> None:
    sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGTERM)  # docker-proxy gets Pdeathsig: SIGTERM too


def bind_error(proto: str, host_ip: str, host_port: int, detail: str) -> DaemonError:
    """Docker's wording (its dummy proxy for --userland-proxy=false says the same)."""
    family = ("tcp" if proto == "tcp" else "udp") + ("6" if ":" in host_ip else "4")
    where = f"[{host_ip}]:{host_port}" if ":" in host_ip else f"{host_ip}:{host_port}"
    return DaemonError(f"failed to bind port {host_ip}:{host_port}/{proto}: Error starting userland proxy: "
                       f"listen {family} {where}: bind: {detail.strip().lower()}", 125)


@journaled
@dataclass
class StartProxy(Step):
    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    pid: int = 0
    start: int = 0

    @property
    def why(self) -> str:
        return (f"userland proxy: {self.host_ip}:{self.host_port}/{self.proto} -> "
                f"{self.container_ip}:{self.container_port} (what answers on 127.0.0.1)")

    def argv(self) -> list[str]:
        return ["-proto", self.proto, "-host-ip", self.host_ip, "-host-port", str(self.host_port),
                "-container-ip", self.container_ip, "-container-port", str(self.container_port)]

    def launch(self) -> None:
        """Start the proxy process without waiting for it (publish() starts them all, then waits)."""
        r, w = os.pipe()
        os.set_inheritable(w, True)
        env = {**os.environ, "MINICONTAINER_PROXY_STATUS_FD": str(w)}
        proc = subprocess.Popen([sys.executable, "-m", "minicontainer.network.proxy", *self.argv()], env=env,
                                pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=_pdeathsig)
        os.close(w)
        self._proc, self._status = proc, os.fdopen(r)
        self.pid, self.start = proc.pid, liveness.start_ticks(proc.pid)

    def do(self) -> None:
        if not hasattr(self, "_proc"):
            self.launch()
        with self._status as status:
            report = status.read()  # the proxy reports once it has bound the port (or failed to)
        code, _, detail = report.partition("\n")
        if code != "0":
            self._proc.wait()
            raise bind_error(self.proto, self.host_ip, self.host_port, detail)
        self.host_port = int(detail.split()[0])
        self._proc.returncode = 0  # it lives on after us: keep subprocess from warning about a running child

    def undo(self) -> None:
        fd = liveness.open_pidfd(self.pid, self.start)
        if fd is None:
            return
        try:
            signal.pidfd_send_signal(fd, signal.SIGTERM)
            if not liveness.wait_pidfd(fd, 2):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                liveness.wait_pidfd(fd, None)
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

    def explain(self) -> str:
        return f"# (no command: the supervisor holds a bound socket on {self.host_ip}:{self.host_port}/{self.proto})"

    def explain_undo(self) -> str:
        return f"# (the supervisor closes its socket on {self.host_ip}:{self.host_port}/{self.proto})"


@journaled
@dataclass
class PublishRules(Step):
    chain_prefix: str
    bridge: str
    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    userland_proxy: bool = True

    def rules(self):
        from minicontainer.network.rules import Chains, port_rules
        return port_rules(Chains(self.chain_prefix), self.bridge, self.proto, self.host_ip, self.host_port,
                          self.container_ip, self.container_port, self.userland_proxy)

    @property
    def why(self) -> str:
        return self.rules()[0].why

    def _firewall(self):
        from minicontainer.network.firewall import IptablesFirewall
        from minicontainer.network.rules import Chains
        return IptablesFirewall(Chains(self.chain_prefix))

    def do(self) -> None:
        self._done = self._firewall().add(self.rules())

    def undo(self) -> None:
        self._firewall().remove(list(reversed(self.rules())))

    def explain(self) -> str:
        done = getattr(self, "_done", None)
        if done is None:
            done = [r.planned_command() for r in self.rules()]
        return "\n".join(done) or "# (no command: these rules are in the kernel already)"

    def explain_undo(self) -> str:
        return "\n".join(r.command("-D") for r in reversed(self.rules()))


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


def publish(journal, net, ep: dict, bindings: list[dict]) -> list[dict]:
    """Start proxies and add rules for each binding; returns what was really bound (Docker's Ports).

    The proxy processes are launched first and confirmed last: they start on another core while
    this process loads python-iptables and commits the rules."""
    actual, holders, rules = publish_steps(net, ep, bindings)
    _apply(journal, holders, rules)
    return actual


def publish_steps(net, ep: dict, bindings: list[dict]) -> tuple[list[dict], list[Step], list[Step]]:
    """The proxy (or port holder) and rule steps for each binding, a random host port chosen now."""
    actual, holders, rules = [], [], []
    for b in bindings:
        proto, cport, host_ip, host_port = b["proto"], b["container_port"], b["host_ip"], b["host_port"]
        # [::] is served by a proxy only: without one (and without IPv6 rules) Docker has no :: entry
        wildcard_v6 = ["::"] if net.userland_proxy and ipv6_enabled() else []
        addrs = [host_ip] if host_ip else ["0.0.0.0"] + wildcard_v6
        host_port = host_port or free_port(proto, host_ip)
        for addr in addrs:
            if net.userland_proxy:
                holders.append(StartProxy(proto, addr, host_port, ep["IPAddress"], cport))
            else:
                holders.append(HoldPort(proto, addr, host_port))
            actual.append({"proto": proto, "container_port": cport, "host_ip": addr, "host_port": host_port})
        if ":" not in (host_ip or "0.0.0.0"):  # IPv4 rules only: [::] is served by the proxy alone, as in Docker
            rules.append(PublishRules(net.chain_prefix, net.bridge, proto, host_ip, host_port, ep["IPAddress"], cport,
                                      net.userland_proxy))
    return actual, holders, rules


def _apply(journal, holders, rules) -> None:
    try:
        for h in holders:
            if isinstance(h, StartProxy):
                h.launch()
        journal.apply(rules)
        for h in holders:
            journal.apply([h])
    except BaseException:
        for h in holders:  # launched but not yet in the journal: nobody else would stop them
            if hasattr(h, "_status") and not h._status.closed:
                h.undo()
        raise


def conflicts(wanted: list[dict], taken: list[dict]) -> dict | None:
    """Docker's allocator check: the same proto and host port on the same (or a wildcard) address."""
    for w in wanted:
        if not w["host_port"]:
            continue
        for t in taken:
            same_ip = not w["host_ip"] or w["host_ip"] == t["host_ip"] or t["host_ip"] in ("0.0.0.0", "::")
            if t["proto"] == w["proto"] and t["host_port"] == w["host_port"] and same_ip:
                return w
    return None
