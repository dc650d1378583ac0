"""A cheap stamp of the host's firewall state, read without iptables-save: it changes whenever a
rule is added to or deleted from any nf_tables table (the ruleset's generation id, which every
transaction bumps) or from a legacy iptables table (its entry count, size and hook offsets, as
libiptc's IPT_SO_GET_INFO reports them). `repair` compares the rules in full only when the stamp
differs from the last one it saw everything right under (network/repair.py).

Reading it changes nothing and loads no module: a backend whose kernel module is not loaded has
no rules, and is stamped as absent.
"""

from __future__ import annotations

# The C module under `socket`: socket.py turns every constant into an enum at import, a few ms on
# every command for the two raw sockets read here.
import _socket as socket
import os
import struct
from contextlib import closing

NETLINK_NETFILTER = 12
_NFT_GETGEN = (10 << 8) | 16   # NFNL_SUBSYS_NFTABLES, NFT_MSG_GETGEN
_NFTA_GEN_ID = 1
_IPT_SO_GET_INFO = 64           # IPT_BASE_CTL
_GETINFO_SIZE = 84              # struct ipt_getinfo: name[32], valid_hooks, hook_entry[5], underflow[5], num_entries, size

def _may_ask(module: str) -> bool:
    """Whether asking the kernel about `module`'s state cannot load it: it is loaded, or built in
    (a kernel without loadable modules has no /proc/modules)."""
    try:
        with open("/proc/modules") as f:
            return any(line.split(" ", 1)[0] == module for line in f) or os.path.isdir(f"/sys/module/{module}")
    except FileNotFoundError:
        return True


def nft_generation() -> int | None:
    """The nf_tables ruleset generation, None if nf_tables is not loaded."""
    if not _may_ask("nf_tables"):
        return None
    with closing(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER)) as sock:
        sock.send(struct.pack("=IHHII", 20, _NFT_GETGEN, 1, 1, 0) + struct.pack("=BBH", socket.AF_UNSPEC, 0, 0))
        reply = sock.recv(4096)
    length, kind = struct.unpack_from("=IH", reply)
    if kind == 2:  # NLMSG_ERROR
        return None
    offset = 16 + 4  # nlmsghdr, nfgenmsg
    while offset + 4 <= length:
        size, attr = struct.unpack_from("=HH", reply, offset)
        if attr & 0x3FFF == _NFTA_GEN_ID:
            return struct.unpack_from(">I", reply, offset + 4)[0]
        offset += (size + 3) & ~3
    return None


def legacy_table_info(table: str) -> str | None:
    """A legacy iptables table's ipt_getinfo (hex), None if the table is not loaded."""
    try:
        with open("/proc/net/ip_tables_names") as f:
            if table not in f.read().split():
                return None
    except FileNotFoundError:
        return None
    import ctypes  # getsockopt with a table name going in: not something socket.getsockopt can send
    libc = ctypes.CDLL(None, use_errno=True)
    with closing(socket.socket(socket.AF_INET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.IPPROTO_RAW)) as sock:
        buf = ctypes.create_string_buffer(table.encode(), _GETINFO_SIZE)
        size = ctypes.c_uint(_GETINFO_SIZE)
        if libc.getsockopt(sock.fileno(), socket.IPPROTO_IP, _IPT_SO_GET_INFO, buf, ctypes.byref(size)) != 0:
            return None
        return buf.raw[32:size.value].hex()


def stamp(bridges: list[str]) -> dict:
    """The stamp: both backends' state, and which of our bridges are up."""
    return {"nft": nft_generation(), "legacy": {t: legacy_table_info(t) for t in ("filter", "nat")},
            "bridges": sorted(bridges)}
