"""Setting a process's capability sets (capabilities(7)): the bounding set, ambient cleared, then
effective/permitted/inheritable with capset(2), in runc's order around the user switch."""

from __future__ import annotations

import ctypes
import os

PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "riscv64": 91, "armv7l": 185}[os.uname().machine]
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def last_cap() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def bounding_set() -> int:
    """Our own bounding set: what any process we start can have at most."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return (1 << (last_cap() + 1)) - 1


def _fail(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def limit_bounding(keep: list[int], last: int) -> None:
    """Drop every capability not in keep from the bounding set (no exec can regain it), and
    clear the ambient set. Needs CAP_SETPCAP: done before the user switch."""
    wanted = set(keep)
    for cap in range(last + 1):
        if cap not in wanted and _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            _fail(f"prctl(PR_CAPBSET_DROP, {cap})")
    if _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        _fail("prctl(PR_CAP_AMBIENT_CLEAR_ALL)")


def capset(effective: list[int], permitted: list[int], inheritable: list[int]) -> None:
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    for i, caps in enumerate((effective, permitted, inheritable)):
        bits = sum(1 << c for c in caps)
        data[i] = bits & 0xFFFFFFFF          # struct __user_cap_data_struct[0]
        data[3 + i] = bits >> 32             # [1]: capabilities 32..63
    if _libc.syscall(_SYS_CAPSET, header, data) != 0:
        _fail("capset")
