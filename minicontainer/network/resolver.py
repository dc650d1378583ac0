"""The embedded DNS server of one container (Docker's 127.0.0.11), held by its supervisor.

    listen    a UDP and a TCP socket on 127.0.0.11, random ports, inside the container's network
              namespace (IP_FREEBIND: its lo may not be up yet); the nat rules of ResolverRules
              (network/dnsrules.py) send port 53 to them and the replies back from port 53
    answer    A, AAAA (known names have no IPv6 address: an empty answer), PTR and MX for the
              names of the containers on the same user-defined networks (network/names.py)
    forward   anything else to the external servers in order, from the host's namespace for the
              host's own servers, from the container's for --dns ones; SERVFAIL if none answers

One thread serves both sockets; a forwarded query or a TCP connection gets a short-lived thread of
its own, so a slow upstream never holds a local answer back. The sockets die with the supervisor.
"""

from __future__ import annotations

import os
import random
import select
import socket
import struct
import threading
from dataclasses import dataclass

from minicontainer.network import dnswire as wire
from minicontainer.network.names import NameBook

ADDRESS = "127.0.0.11"
IO_TIMEOUT = 4.0     # per upstream server, as Docker's extIOTimeout
MAX_FORWARDS = 1024  # queries being forwarded at once; past it REFUSED, as Docker's maxConcurrent
_IP_FREEBIND = 15


@dataclass(frozen=True)
class Upstream:
    """An external server: `host` ones (read from the host's resolv.conf) are asked from the host's
    namespace, so even a loopback one works; --dns ones from the container's (Docker's HostLoopback)."""

    ip: str
    host: bool = True

    def __str__(self) -> str:
        return f"host({self.ip})" if self.host else self.ip  # as Docker's resolv.conf comment names them

    @classmethod
    def parse(cls, text: str) -> Upstream:
        return cls(text[5:-1], True) if text.startswith("host(") else cls(text, False)


def _listener(kind: int, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
    sock.setsockopt(socket.IPPROTO_IP, _IP_FREEBIND, 1)
    sock.bind((ADDRESS, port))
    return sock


class Resolver:
    def __init__(self, book: NameBook, upstreams: list[Upstream], proxy: bool = True, dotless_local: bool = False):
        self.book = book
        self.upstreams = upstreams
        self.proxy = proxy                  # the container has a way out: host-side servers may be asked
        self.dotless_local = dotless_local  # --dns-option ndots:N: a dotless name is never forwarded
        self.udp = self.tcp = None
        self.netns = -1                     # the container's namespace, for --dns servers
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._forwarding = threading.BoundedSemaphore(MAX_FORWARDS)

    def open(self, netns_path: str, udp_port: int = 0, tcp_port: int = 0) -> tuple[int, int]:
        """Make the listeners inside the namespace at netns_path (on random ports unless given);
        returns their (udp, tcp) ports."""
        from minicontainer.kernel.rtnl import in_netns
        with in_netns(netns_path):
            self.udp, self.tcp = _listener(socket.SOCK_DGRAM, udp_port), _listener(socket.SOCK_STREAM, tcp_port)
        self.tcp.listen(64)
        self._held(os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC))
        return self.udp.getsockname()[1], self.tcp.getsockname()[1]

    def _held(self, netns: int) -> None:
        self.netns = netns
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC)  # close() wakes run() through it

    # As a network/served.py service of the supervisor: its listeners cross the monitor's exec.
    def key(self) -> tuple:
        return ("dns", self.book.cid)

    def fds(self) -> list[int]:
        return [self.udp.fileno(), self.tcp.fileno(), self.netns]

    def describe(self) -> dict:
        return {"kind": "dns", "root": self.book.root, "cid": self.book.cid, "proxy": self.proxy,
                "upstreams": [str(u) for u in self.upstreams], "dotless_local": self.dotless_local}

    def serve(self) -> None:
        """run() from a thread of this process (the supervisor's)."""
        self._thread = threading.Thread(target=self.run, name="resolver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            os.write(self._wake_w, b"x")
            self._thread.join(2)
            self._thread = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1
        for sock in (self.udp, self.tcp):
            if sock is not None:
                sock.close()
        self.udp = self.tcp = None
        if self.netns >= 0:
            os.close(self.netns)
            self.netns = -1

    def run(self) -> None:
        while True:
            readable, _, _ = select.select([self.udp, self.tcp, self._wake_r], [], [])
            if self._wake_r in readable:
                return
            if self.udp in readable:
                try:
                    data, peer = self.udp.recvfrom(4096)
                except OSError:
                    continue
                self._on_udp(data, peer)
            if self.tcp in readable:
                try:
                    conn, _ = self.tcp.accept()
                except OSError:
                    continue
                threading.Thread(target=self._serve_tcp, args=(conn,), daemon=True).start()

    def _on_udp(self, data: bytes, peer) -> None:
        q = wire.parse_query(data)
        try:
            answer = self.answer(data, q, wire.udp_limit(data, q)) if q else None
        except Exception:  # noqa: BLE001 - one bad query (or a half-written record) must not end the server
            answer = wire.error(data, q, wire.SERVFAIL) if q else None
        if answer is None:
            if self._forwarding.acquire(blocking=False):
                threading.Thread(target=self._forward_udp, args=(data, q, peer), daemon=True).start()
                return
            answer = wire.error(data, q, wire.REFUSED) if q else None  # too many at once, as Docker's
        if answer is not None:
            self.udp.sendto(answer, peer)

    def _forward_udp(self, data: bytes, q: wire.Question | None, peer) -> None:
        try:
            answer = self._forward(data, q, "udp")
        finally:
            self._forwarding.release()
        if answer is not None:
            try:
                self.udp.sendto(answer, peer)
            except (OSError, AttributeError):
                pass  # closed meanwhile: the container is gone

    def _serve_tcp(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(IO_TIMEOUT)
            try:
                while True:
                    data = _read_framed(conn)
                    if data is None:
                        return
                    q = wire.parse_query(data)
                    try:
                        answer = self.answer(data, q, 65535) if q else None
                    except Exception:  # noqa: BLE001 - as for UDP
                        answer = wire.error(data, q, wire.SERVFAIL) if q else None
                    if answer is None:
                        answer = self.forward(data, q, "tcp")
                    if answer is None:
                        return
                    conn.sendall(struct.pack("!H", len(answer)) + answer)
            except OSError:
                return

    def answer(self, data: bytes, q: wire.Question, limit: int) -> bytes | None:
        """Our own answer to q, or None when it is not ours to give (it is forwarded then)."""
        if q.qclass != wire.CLASS_IN:
            return None
        if q.qtype in (wire.A, wire.AAAA, wire.MX):
            ips = self.book.lookup(q.name)
            if ips is None:
                if self.dotless_local and q.qtype != wire.MX and "." not in q.name:
                    return wire.reply(data, q, limit=limit)  # Docker: the client goes on with its search list
                return None
            if q.qtype != wire.A:
                return wire.reply(data, q, limit=limit)  # known, no IPv6 address; MX: "use the A record"
            random.shuffle(ips)
            return wire.reply(data, q, wire.A, [wire.a_record(ip) for ip in ips], limit=limit)
        if q.qtype == wire.PTR:
            ip = wire.reverse_ipv4(q.name)
            name = self.book.reverse(ip) if ip else None
            return wire.reply(data, q, wire.PTR, [wire.encode_name(name)], limit=limit) if name else None
        return None

    def forward(self, data: bytes, q: wire.Question | None, proto: str) -> bytes | None:
        """The first usable answer of the external servers, in order; SERVFAIL if none gives one."""
        if not self._forwarding.acquire(timeout=IO_TIMEOUT):
            return wire.error(data, q, wire.REFUSED) if q else None
        try:
            return self._forward(data, q, proto)
        finally:
            self._forwarding.release()

    def _forward(self, data: bytes, q: wire.Question | None, proto: str) -> bytes | None:
        for server in self.upstreams:
            if server.host and not self.proxy:
                continue  # an internal network only: no way out from the host's side either
            answer = self._exchange(server, data, proto)
            if answer is not None and len(answer) > 3 and answer[3] & 0x0F not in (wire.SERVFAIL, wire.REFUSED):
                return answer
        return wire.error(data, q, wire.SERVFAIL) if q else None

    def _exchange(self, server: Upstream, data: bytes, proto: str) -> bytes | None:
        kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
        try:
            sock = self._socket_for(server, kind)
        except OSError:
            return None
        with sock:
            sock.settimeout(IO_TIMEOUT)
            try:
                sock.connect((server.ip, 53))
                if proto == "udp":
                    sock.send(data)
                    while True:
                        answer = sock.recv(65535)
                        if answer[:2] == data[:2]:
                            return answer
                sock.sendall(struct.pack("!H", len(data)) + data)
                return _read_framed(sock)
            except OSError:
                return None

    def _socket_for(self, server: Upstream, kind: int) -> socket.socket:
        """A socket in the host's namespace, or (a --dns server) in the container's."""
        if server.host:
            return socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
        from minicontainer.kernel import syscalls as sc
        sc.setns(self.netns, sc.CLONE_NEWNET)  # this short-lived thread only; it ends with the query
        return socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)


def _read_framed(sock: socket.socket) -> bytes | None:
    """One DNS message over TCP: a two-byte length, then the message (RFC 1035 4.2.2)."""
    head = _read_exactly(sock, 2)
    if head is None:
        return None
    return _read_exactly(sock, struct.unpack("!H", head)[0])


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def adopt(desc: dict, fds: list[int]) -> Resolver:
    """served.adopt's factory: the resolver again around the listeners handed over across an exec."""
    resolver = Resolver(NameBook(desc["root"], desc["cid"]), [Upstream.parse(u) for u in desc["upstreams"]],
                        desc["proxy"], desc["dotless_local"])
    resolver.udp, resolver.tcp = socket.socket(fileno=fds[0]), socket.socket(fileno=fds[1])
    resolver._held(fds[2])
    return resolver


def main(argv: list[str]) -> int:
    """`minicontainer-resolver`: the same server as a process of its own, for `explain` scripts
    (the runtime runs it in the supervisor). --upstream-host IP and --upstream IP may repeat."""
    import argparse
    import signal
    parser = argparse.ArgumentParser(prog="minicontainer-resolver")
    parser.add_argument("--root", required=True)
    parser.add_argument("--container", required=True)
    parser.add_argument("--udp-port", type=int, default=0)
    parser.add_argument("--tcp-port", type=int, default=0)
    parser.add_argument("--upstream-host", action="append", default=[])
    parser.add_argument("--upstream", action="append", default=[])
    parser.add_argument("--no-proxy", action="store_true")
    parser.add_argument("--dotless-local", action="store_true")
    parser.add_argument("--netns", required=True)
    opts = parser.parse_args(argv)
    upstreams = [Upstream(ip, True) for ip in opts.upstream_host] + [Upstream(ip, False) for ip in opts.upstream]
    resolver = Resolver(NameBook(opts.root, opts.container), upstreams, not opts.no_proxy, opts.dotless_local)
    resolver.open(opts.netns, opts.udp_port, opts.tcp_port)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    resolver.run()
    return 0


def console() -> None:
    import sys
    sys.exit(main(sys.argv[1:]))
