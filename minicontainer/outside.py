"""Another machine for experiments: a network namespace wired to the host by a veth pair, the way a
client on the host's LAN would reach it. Traffic from it to a published port arrives from outside,
so it goes through PREROUTING's DNAT, not OUTPUT's (what 127.0.0.1 on the host would exercise).

    with minicontainer.outside.OutsideHost() as client:
        body = client.http_get(f"http://{client.host_address}:8080/")
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading

from minicontainer.kernel import syscalls as sc
from minicontainer.kernel.netlink import NETNS_DIR, iproute


class OutsideHost:
    """Namespace `<name>` with eth0 = .2/30 and a default route via the host end (`<name>h`, .1/30)."""

    def __init__(self, name: str = ""):
        self.name = name or f"mco{random.randrange(16**4):04x}"
        self.host_if = f"{self.name}h"
        from minicontainer.network.networks import free_link
        link = free_link()
        self.host_address, self.address = str(link[1]), str(link[2])
        self.prefixlen = link.prefixlen

    @property
    def netns_path(self) -> str:
        return os.path.join(NETNS_DIR, self.name)

    def __enter__(self) -> OutsideHost:
        from pyroute2 import netns
        netns.create(self.name)
        try:
            with iproute() as ipr:
                ipr.link("add", ifname=self.host_if, kind="veth", peer={"ifname": "eth0", "net_ns_fd": self.name})
                index = ipr.link_lookup(ifname=self.host_if)[0]
                ipr.addr("add", index=index, address=self.host_address, prefixlen=self.prefixlen)
                ipr.link("set", index=index, state="up")
            with iproute(self.netns_path) as inside:
                lo, eth0 = inside.link_lookup(ifname="lo")[0], inside.link_lookup(ifname="eth0")[0]
                inside.addr("add", index=eth0, address=self.address, prefixlen=self.prefixlen)
                inside.link("set", index=eth0, state="up")
                inside.link("set", index=lo, state="up")
                inside.route("add", dst="0.0.0.0/0", gateway=self.host_address)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        from pyroute2 import netns
        with iproute() as ipr:
            for index in ipr.link_lookup(ifname=self.host_if):
                ipr.link("del", index=index)  # its peer goes with it
        if os.path.exists(self.netns_path):
            netns.remove(self.name)

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """A host program run inside the namespace (`ip netns exec NAME ...`)."""
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def connect(self, address: str, port: int, timeout: float = 5) -> socket.socket:
        """A TCP connection made from inside the namespace, usable from this process: a socket
        belongs to the namespace it was created in, so a helper thread enters it, connects, leaves."""
        out: dict = {}

        def inside() -> None:
            try:
                fd = os.open(self.netns_path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    sc.setns(fd, sc.CLONE_NEWNET)  # this thread only; it ends right after
                finally:
                    os.close(fd)
                out["sock"] = socket.create_connection((address, port), timeout=timeout)
            except BaseException as exc:
                out["error"] = exc

        worker = threading.Thread(target=inside)
        worker.start()
        worker.join()
        if "error" in out:
            raise out["error"]
        return out["sock"]

    def http_get(self, url: str, timeout: float = 5) -> tuple[int, bytes]:
        """GET url from inside the namespace; (status, body)."""
        import http.client
        from urllib.parse import urlsplit
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        conn.sock = self.connect(parts.hostname, parts.port or 80, timeout)
        try:
            conn.request("GET", parts.path or "/", headers={"Connection": "close"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
