"""The userland proxy, like docker-proxy: one small process per published port and address family.

    python -m minicontainer.network.proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 \
        -container-ip 172.17.0.2 -container-port 80

It binds the host port, reports "0\\n<port>\\n" (or "1\\n<error>") on the descriptor named by
MINICONTAINER_PROXY_STATUS_FD (docker-proxy reports the same way on its fd 3), then forwards every
connection (TCP) or datagram (UDP) to the container. It is what makes `curl 127.0.0.1:8080` work:
the nat OUTPUT rule skips 127.0.0.0/8, so loopback traffic reaches this process, which opens a new
connection to the container from the bridge's address.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

BUF = 1 << 16


def _family(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _bind(proto: str, ip: str, port: int) -> socket.socket:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(_family(ip), kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if _family(ip) == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # [::] and 0.0.0.0 are separate proxies
    s.bind((ip, port))
    if proto == "tcp":
        s.listen(128)
    return s


PIPE_SIZE = 1 << 20


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


def _serve_tcp_conn(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
        for sock in (client, upstream):  # relay each write as it comes, as docker-proxy (Go) does
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        client.close()
        return
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve_tcp(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve_tcp_conn, args=(client, target), daemon=True).start()


def serve_udp(listener: socket.socket, target: tuple[str, int]) -> None:
    upstreams: dict[tuple, socket.socket] = {}

    def replies(up: socket.socket, client_addr) -> None:
        while True:
            data = up.recv(BUF)
            listener.sendto(data, client_addr)

    while True:
        data, addr = listener.recvfrom(BUF)
        up = upstreams.get(addr)
        if up is None:
            up = socket.socket(_family(target[0]), socket.SOCK_DGRAM)
            up.connect(target)
            upstreams[addr] = up
            threading.Thread(target=replies, args=(up, addr), daemon=True).start()
        up.send(data)


def _adopted_or_exit(fd: int) -> None:
    """Exit unless the process that started us writes "k" once we are in its journal: killed before
    that, nobody would know to stop us (a `network connect` cannot give us its death signal)."""
    if os.read(fd, 1) != b"k":
        os._exit(0)
    os.close(fd)


def main(argv: list[str]) -> int:
    opts = dict(zip(argv[0::2], argv[1::2], strict=False))  # a trailing flag without a value is ignored
    proto, host_ip = opts["-proto"], opts["-host-ip"]
    target = (opts["-container-ip"], int(opts["-container-port"]))
    status_fd = os.environ.get("MINICONTAINER_PROXY_STATUS_FD")
    status = os.fdopen(int(status_fd), "w") if status_fd else None
    try:
        listener = _bind(proto, host_ip, int(opts["-host-port"]))
    except OSError as exc:
        if status:
            status.write(f"1\n{exc.strerror or exc}")
            status.close()
        return 1
    if status:
        status.write(f"0\n{listener.getsockname()[1]}\n")
        status.close()
    keep_fd = os.environ.get("MINICONTAINER_PROXY_KEEP_FD")
    if keep_fd:
        threading.Thread(target=_adopted_or_exit, args=(int(keep_fd),), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    (serve_tcp if proto == "tcp" else serve_udp)(listener, target)
    return 0


def console() -> None:
    """The `minicontainer-proxy` command (like docker-proxy)."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    console()
