"""The userland proxy, like docker-proxy: what answers on a published port for the traffic the
kernel's DNAT does not see (the nat OUTPUT rule skips 127.0.0.0/8, so `curl 127.0.0.1:8080`
reaches a socket on the host). It opens a new connection to the container from the bridge's
address and moves the bytes with splice(2).

The container's supervisor serves every proxy of the container as threads of its own (Proxy, a
network/served.py service: one process per container, not one interpreter per port and address
family). The same proxy runs as a process of its own, which is what `explain` prints:

    minicontainer-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 \\
        -container-ip 172.17.0.2 -container-port 80
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

BUF = 1 << 16
PIPE_SIZE = 1 << 20


def _family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def bind(proto: str, ip: str, port: int) -> socket.socket:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(_family(ip), kind | socket.SOCK_CLOEXEC)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if _family(ip) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # [::] and 0.0.0.0 are separate proxies
    try:
        s.bind((ip, port))
        if proto == "tcp":
            s.listen(128)
    except OSError:
        s.close()
        raise
    return s


def _copy(src: socket.socket, dst: socket.socket) -> None:
    """Move bytes src -> dst with splice(2) through a pipe: the kernel moves pages, Python never
    touches the data (recv/sendall in Python reaches about half the direct path's throughput)."""
    import fcntl
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        try:
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # over /proc/sys/fs/pipe-max-size: the default 64 KiB pipe still works
        # No SPLICE_F_MORE: into a TCP socket it means MSG_MORE, and the kernel holds a short reply
        # back for up to 200 ms waiting for more (an HTTP request through the proxy took 200 ms).
        while n := os.splice(src.fileno(), w, PIPE_SIZE, flags=os.SPLICE_F_MOVE):
            while n:
                n -= os.splice(r, dst.fileno(), n, flags=os.SPLICE_F_MOVE)
    finally:
        os.close(r)
        os.close(w)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        _copy(src, dst)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _name_thread(name: str) -> None:
    """The thread's name in /proc (`ps -T -p PID`, top -H), 15 bytes at most."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as f:
            f.write(name[:15])
    except OSError:
        pass


class Proxy:
    """One published port and address family, served by threads of this process."""

    def __init__(self, proto: str, listener: socket.socket, target: tuple[str, int]):
        self.proto, self.listener, self.target = proto, listener, target
        self.host_ip, self.host_port = listener.getsockname()[:2]
        self._open: set[socket.socket] = set()  # the connections (TCP) or upstream sockets (UDP) it relays
        self._lock = threading.Lock()
        self._closed = False

    def key(self) -> tuple:
        return ("proxy", self.proto, self.host_ip, self.host_port)

    def fds(self) -> list[int]:
        return [self.listener.fileno()]

    def describe(self) -> dict:
        return {"kind": "proxy", "proto": self.proto, "target": list(self.target)}

    def serve(self) -> None:
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        _name_thread(f"proxy {self.host_port}/{self.proto}")
        try:
            (self._serve_tcp if self.proto == "tcp" else self._serve_udp)()
        except OSError:
            pass  # closed

    def _track(self, *socks: socket.socket) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._open.update(socks)
            return True

    def _untrack(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(socks)
        for s in socks:
            s.close()

    def _serve_tcp(self) -> None:
        while True:
            client, _ = self.listener.accept()
            threading.Thread(target=self._relay_tcp, args=(client,), daemon=True).start()

    def _relay_tcp(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=10)
            upstream.settimeout(None)
            for sock in (client, upstream):  # relay each write as it comes, as docker-proxy (Go) does
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            client.close()
            return
        if not self._track(client, upstream):
            self._untrack(client, upstream)
            return
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()
        self._untrack(client, upstream)

    def _serve_udp(self) -> None:
        upstreams: dict[tuple, socket.socket] = {}
        while True:
            data, peer = self.listener.recvfrom(BUF)
            if self._closed:
                return
            up = upstreams.get(peer)
            if up is None:
                up = socket.socket(_family(self.target[0]), socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                up.connect(self.target)
                if not self._track(up):
                    up.close()
                    return
                upstreams[peer] = up
                threading.Thread(target=self._udp_replies, args=(up, peer), daemon=True).start()
            up.send(data)

    def _udp_replies(self, up: socket.socket, peer) -> None:
        try:
            while data := up.recv(BUF):
                self.listener.sendto(data, peer)
        except OSError:
            pass

    def close(self) -> None:
        """Stop listening and end every connection it relays (as docker-proxy's exit does)."""
        with self._lock:
            self._closed = True
            relayed, self._open = list(self._open), set()
        for s in [self.listener, *relayed]:
            try:
                s.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept() or recv()
            except OSError:
                pass
        self.listener.close()
        for s in relayed:
            s.close()


def open_proxy(proto: str, host_ip: str, host_port: int, container_ip: str, container_port: int) -> Proxy:
    """Bind the host port (OSError if it cannot be) for a proxy to the container."""
    return Proxy(proto, bind(proto, host_ip, host_port), (container_ip, container_port))


def serve_here(proto: str, host_ip: str, host_port: int, container_ip: str, container_port: int) -> Proxy:
    """Bind (OSError if it cannot) and serve from this process, a network/served.py service. A
    proxy this process serves on the same port already (a step done again after a crash) goes first."""
    from minicontainer.network import served
    served.stop(("proxy", proto, host_ip, host_port))
    proxy = open_proxy(proto, host_ip, host_port, container_ip, container_port)
    served.add(proxy)
    return proxy


def adopt(desc: dict, fds: list[int]) -> Proxy:
    """served.adopt's factory: the proxy again around a listener handed over across an exec."""
    return Proxy(desc["proto"], socket.socket(fileno=fds[0]), (desc["target"][0], desc["target"][1]))


def main(argv: list[str]) -> int:
    opts = dict(zip(argv[0::2], argv[1::2], strict=False))  # a trailing flag without a value is ignored
    try:
        proxy = open_proxy(opts["-proto"], opts["-host-ip"], int(opts["-host-port"]), opts["-container-ip"],
                           int(opts["-container-port"]))
    except OSError as exc:
        print(f"minicontainer-proxy: {exc.strerror or exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    proxy._serve()
    return 0


def console() -> None:
    """The `minicontainer-proxy` command (like docker-proxy)."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    console()
