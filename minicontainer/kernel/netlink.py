"""Network steps over netlink (pyroute2, imported only when a step runs): bridges, veth pairs,
addresses, routes, sysctls, and the /run/netns bind mount that makes a namespace visible to `ip netns`.

Host-side steps are undone by the journal when the container goes; what lives inside the
container's network namespace disappears with it.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from minicontainer.kernel import syscalls as sc
from minicontainer.plan import CONTAINER_PID, Step, journaled, state

NETNS_DIR = "/run/netns"


def iproute(netns: str | None = None):
    from pyroute2 import IPRoute
    # flags=0: never create a namespace by accident if the path is gone (pyroute2 defaults to O_CREAT).
    return IPRoute(netns=netns, flags=0) if netns else IPRoute()


def _index(ipr, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise OSError(errno.ENODEV, f"no such interface: {ifname}")
    return found[0]


def link_exists(ifname: str) -> bool:
    return os.path.exists(f"/sys/class/net/{ifname}")


@journaled
@dataclass
class CreateBridge(Step):
    """A bridge with its gateway address, up."""

    name: str
    address: str        # gateway/prefix, e.g. 172.17.0.1/16
    mac: str = ""
    mtu: int = 0        # com.docker.network.driver.mtu (0: the kernel's default)
    why = "the bridge: a virtual switch on the host, and the containers' default gateway"

    def do(self) -> None:
        ip, prefix = self.address.split("/")
        extra = {**({"address": self.mac} if self.mac else {}), **({"mtu": self.mtu} if self.mtu else {})}
        with iproute() as ipr:
            ipr.link("add", ifname=self.name, kind="bridge", **extra)
            idx = _index(ipr, self.name)
            ipr.addr("add", index=idx, address=ip, prefixlen=int(prefix))
            ipr.link("set", index=idx, state="up")
        _write_sysctl(f"net/ipv6/conf/{self.name}/accept_ra", "0")

    def undo(self) -> None:
        with iproute() as ipr:
            found = ipr.link_lookup(ifname=self.name)
            if found:
                ipr.link("del", index=found[0])

    def explain(self) -> str:
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        return "\n".join([f"ip link add {self.name}{mtu} type bridge", f"ip addr add {self.address} dev {self.name}",
                          f"ip link set {self.name} up", f"sysctl -qw net.ipv6.conf.{self.name}.accept_ra=0"])

    def explain_undo(self) -> str:
        return f"ip link del {self.name}"


@journaled
@dataclass
class CreateVeth(Step):
    """A veth pair: the host end on the bridge, the peer created inside the container's netns."""

    host_if: str
    bridge: str
    netns_pid: int
    peer_if: str = "eth0"
    peer_mac: str = ""
    mtu: int = 0        # the network's com.docker.network.driver.mtu (0: the kernel's default)

    @property
    def why(self) -> str:
        return f"a veth pair: one end on the bridge {self.bridge}, the other end is the container's {self.peer_if}"

    def do(self) -> None:
        from minicontainer.kernel.rtnl import Rtnl, index_of
        with Rtnl() as rt:
            # The peer is created directly inside the container's namespace: no rename, no race.
            rt.add_veth(self.host_if, self.peer_if, self.netns_pid, self.peer_mac, index_of(self.bridge), self.mtu)

    def undo(self) -> None:
        from minicontainer.kernel.rtnl import Rtnl
        with Rtnl() as rt:
            try:
                rt.delete_link(self.host_if)  # deleting one end deletes the pair
            except OSError as exc:
                if exc.errno != errno.ENODEV:
                    raise

    def explain(self) -> str:
        mac = f" address {self.peer_mac}" if self.peer_mac else ""
        mtu = f" mtu {self.mtu}" if self.mtu else ""
        return (f"ip link add {self.host_if}{mtu} master {self.bridge} up type veth peer name {self.peer_if}"
                f"{mac}{mtu} netns {CONTAINER_PID}")

    def explain_undo(self) -> str:
        return f"ip link del {self.host_if}  # and its peer with it"


@dataclass
class ConfigureInterface(Step):
    """Inside the container's netns: its end of a veth gets its address and goes up (the MAC came
    with the veth; the subnet's route comes with the address)."""

    netns_pid: int
    ifname: str
    address: str        # ip/prefix
    why = "give the container's end of the veth its address"

    def do(self) -> None:
        from minicontainer.kernel.rtnl import Rtnl, in_netns, index_of
        with in_netns(f"/proc/{self.netns_pid}/ns/net"):  # the socket stays in the container's netns
            rt, idx = Rtnl(), index_of(self.ifname)
        with rt:
            rt.add_address(idx, self.address)
            rt.set_up(idx)

    def explain(self) -> str:
        ns = f"nsenter --net=/proc/{CONTAINER_PID}/ns/net"
        return "\n".join([f"{ns} ip addr add {self.address} brd + dev {self.ifname}",
                          f"{ns} ip link set {self.ifname} up"])


@dataclass
class DefaultRoute(Step):
    """Inside the container's netns: the default route via one network's gateway (the network that
    sorts first, network/attach.py gateway_endpoint), or none at all (gateway "")."""

    netns_pid: int
    gateway: str
    ifname: str = ""
    why = "the default route: via the gateway of the network that sorts first"

    def do(self) -> None:
        from minicontainer.kernel.rtnl import Rtnl, in_netns, index_of
        with in_netns(f"/proc/{self.netns_pid}/ns/net"):
            rt, idx = Rtnl(), index_of(self.ifname) if self.gateway else 0
        with rt:
            if self.gateway:
                rt.replace_default_route(self.gateway, idx)
            else:
                rt.delete_default_route()

    def explain(self) -> str:
        ns = f"nsenter --net=/proc/{CONTAINER_PID}/ns/net"
        if not self.gateway:
            return f"{ns} ip route del default"
        return f"{ns} ip route replace default via {self.gateway} dev {self.ifname}"


@journaled
@dataclass
class BindNetns(Step):
    """Bind-mount the container's network namespace under /run/netns."""

    netns_pid: int
    name: str
    why = "make the namespace visible to `ip netns` (ip netns exec NAME ...)"

    @property
    def path(self) -> str:
        return os.path.join(NETNS_DIR, self.name)

    def do(self) -> None:
        os.makedirs(NETNS_DIR, exist_ok=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0)
        os.close(fd)
        try:
            sc.mount(f"/proc/{self.netns_pid}/ns/net", self.path, None, sc.MS_BIND)
        except OSError:
            os.unlink(self.path)
            raise

    def undo(self) -> None:
        try:
            sc.umount2(self.path, sc.MNT_DETACH)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOENT):
                raise
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def explain(self) -> str:
        return (f"mkdir -p {NETNS_DIR} && touch {self.path} && "
                f"mount --bind /proc/{CONTAINER_PID}/ns/net {self.path}")

    def explain_undo(self) -> str:
        return f"umount -l {self.path} && rm {self.path}"


def _write_sysctl(key: str, value: str) -> str | None:
    """Write /proc/sys/<key>; returns the previous value (None if the key does not exist)."""
    path = f"/proc/sys/{key}"
    try:
        with open(path) as f:
            old = f.read().strip()
        if old != value:
            with open(path, "w") as f:
                f.write(value)
        return old
    except FileNotFoundError:
        return None


@dataclass
class Sysctl(Step):
    """Write one sysctl."""

    key: str            # dotted, e.g. net.ipv4.ip_forward
    value: str
    why: str = ""
    previous: str | None = state()  # the value before do(), None if the key does not exist (not restored:
    #                                  forwarding stays on after the last network, as dockerd leaves it)

    def do(self) -> None:
        self.previous = _write_sysctl(self.key.replace(".", "/"), self.value)

    def explain(self) -> str:
        return f"sysctl -qw {self.key}={self.value}"


@dataclass
class BridgeNetfilter(Step):
    """Pass bridged IPv4 traffic through iptables (br_netfilter), as Docker's bridge driver does for a
    network with enable_icc=false (its DROP between two ports of one bridge is an iptables rule) or
    without the userland proxy (a container's DNAT to a neighbour on its own bridge)."""

    required: bool = True  # enable_icc=false cannot work without it; without the proxy Docker goes on (a warning)
    why = "frames between ports of one bridge must meet iptables (br_netfilter): enable_icc=false, or no userland proxy"

    def do(self) -> None:
        if not os.path.exists("/proc/sys/net/bridge"):
            import subprocess
            subprocess.run(["modprobe", "br_netfilter"], capture_output=True)
        if _write_sysctl("net/bridge/bridge-nf-call-iptables", "1") is None and self.required:
            raise OSError(errno.ENOENT, "br_netfilter is not available (modprobe br_netfilter failed)")

    def explain(self) -> str:
        return "modprobe br_netfilter && sysctl -qw net.bridge.bridge-nf-call-iptables=1"


@dataclass
class Hairpin(Step):
    """Let the bridge send a frame back out of the port it came in on. Needed when br_netfilter DNATs a
    container's packet for its own published port back to itself (--userland-proxy=false)."""
    ifname: str
    why = "hairpin mode on the bridge port: a container can reach its own published port in the kernel path"

    def do(self) -> None:
        with open(f"/sys/class/net/{self.ifname}/brport/hairpin_mode", "w") as f:
            f.write("1")

    def explain(self) -> str:
        return f"ip link set {self.ifname} type bridge_slave hairpin on"
