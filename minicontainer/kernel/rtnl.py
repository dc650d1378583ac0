"""The per-container netlink path, kept light: pyroute2's rtnetlink *messages* over a plain blocking socket.

`import pyroute2` runs the package's __init__, which loads its whole asyncio stack (IPRoute, NDB,
conntrack...): ~150 ms on every container start. The message classes alone load in ~25 ms. So
`messages()` registers the pyroute2 package with a deferred __init__ (it runs on first attribute
access, e.g. a later `from pyroute2 import IPRoute` in the same process still works) and imports
only pyroute2.netlink.rtnl.*. One request, one ACK: the veth, address and route of a container.
"""

from __future__ import annotations

import errno
import importlib.util
import ipaddress
import os
import socket
import struct
import sys
import types
from contextlib import contextmanager

IFF_UP = 0x1
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1


def _defer_package_init(name: str) -> None:
    """Put package `name` in sys.modules with its __path__ (so submodules import) but run its
    __init__ only when something asks the package itself for an attribute (PEP 562 __getattr__)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    module = types.ModuleType(name)
    module.__spec__, module.__path__, module.__file__ = spec, list(spec.submodule_search_locations), spec.origin

    def load_on_demand(attr):
        if importlib.util.find_spec(f"{name}.{attr}") is not None:
            return importlib.import_module(f"{name}.{attr}")  # `from pyroute2 import config`: just that submodule
        del module.__getattr__  # anything else needs the real __init__: run it once, into this module
        spec.loader.exec_module(module)
        return getattr(module, attr)
    module.__getattr__ = load_on_demand
    sys.modules[name] = module


def messages():
    """pyroute2's message classes and constants, without pyroute2's package __init__."""
    _defer_package_init("pyroute2")
    from pyroute2.netlink import rtnl
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.rtmsg import rtmsg
    return types.SimpleNamespace(ifinfmsg=ifinfmsg, ifaddrmsg=ifaddrmsg, rtmsg=rtmsg, rtnl=rtnl)


NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x200, 0x400
NLMSG_ERROR = 2


class Rtnl:
    """A NETLINK_ROUTE socket in the current network namespace (or the one given at creation)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        self.sock.bind((0, 0))
        self.seq = 0
        self.m = messages()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, msg, msg_type: int, flags: int = 0) -> None:
        """Send one request and wait for its ACK; a negative errno in the ACK becomes an OSError."""
        self.seq += 1
        msg["header"]["type"] = msg_type
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
        msg["header"]["sequence_number"] = self.seq
        msg.encode()
        self.sock.send(msg.data)
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset < len(data):
                length, kind, _, seq, _ = struct.unpack_from("=LHHLL", data, offset)
                if kind == NLMSG_ERROR and seq == self.seq:
                    code = struct.unpack_from("=i", data, offset + 16)[0]
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return
                offset += (length + 3) & ~3

    # ------------------------------------------------------------ the operations a container needs
    def add_veth(self, name: str, peer: str, peer_netns_pid: int, peer_mac: str, master_index: int,
                 mtu: int = 0) -> None:
        """One RTM_NEWLINK: the pair, its host end on the bridge and up, its peer created in the netns
        (both ends with the network's MTU when it sets one)."""
        msg = self.m.ifinfmsg()
        msg["flags"] = msg["change"] = IFF_UP
        sized = [("IFLA_MTU", mtu)] if mtu else []
        peer_attrs = [("IFLA_IFNAME", peer), ("IFLA_NET_NS_PID", peer_netns_pid), ("IFLA_ADDRESS", peer_mac), *sized]
        msg["attrs"] = [
            ("IFLA_IFNAME", name), ("IFLA_MASTER", master_index), *sized,
            ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"),
                                         ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", {"attrs": peer_attrs})]})]}),
        ]
        self.request(msg, self.m.rtnl.RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL)

    def delete_link(self, name: str) -> None:
        msg = self.m.ifinfmsg()
        msg["attrs"] = [("IFLA_IFNAME", name)]
        self.request(msg, self.m.rtnl.RTM_DELLINK)

    def set_up(self, index: int) -> None:
        msg = self.m.ifinfmsg()
        msg["index"], msg["flags"], msg["change"] = index, IFF_UP, IFF_UP
        self.request(msg, self.m.rtnl.RTM_NEWLINK)

    def add_address(self, index: int, cidr: str) -> None:
        iface = ipaddress.ip_interface(cidr)
        msg = self.m.ifaddrmsg()
        msg["family"], msg["prefixlen"], msg["index"] = socket.AF_INET, iface.network.prefixlen, index
        ip = str(iface.ip)
        msg["attrs"] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip), ("IFA_BROADCAST", str(iface.network.broadcast_address))]
        self.request(msg, self.m.rtnl.RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL)

    def _default_route(self, attrs: list):
        msg = self.m.rtmsg()
        msg["family"], msg["dst_len"], msg["table"] = socket.AF_INET, 0, RT_TABLE_MAIN
        msg["proto"], msg["scope"], msg["type"] = RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST
        msg["attrs"] = attrs
        return msg

    def replace_default_route(self, gateway: str, index: int) -> None:
        """The default route via gateway on the interface, whichever default route there was."""
        msg = self._default_route([("RTA_GATEWAY", gateway), ("RTA_OIF", index)])
        self.request(msg, self.m.rtnl.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE)

    def delete_default_route(self) -> None:
        """Remove the default route, if there is one."""
        try:
            self.request(self._default_route([]), self.m.rtnl.RTM_DELROUTE)
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise


@contextmanager
def in_netns(path: str):
    """Run the block in another network namespace (sockets made there stay there), then come back."""
    from minicontainer.kernel import syscalls as sc
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        sc.setns(target, sc.CLONE_NEWNET)
        try:
            yield
        finally:
            sc.setns(home, sc.CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)


def index_of(ifname: str) -> int:
    """Interface index in the current network namespace."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        raise OSError(errno.ENODEV, f"no such interface: {ifname}") from None
