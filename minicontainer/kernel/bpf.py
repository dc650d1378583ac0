"""bpf(2), for the one use we have: load a cgroup device program and attach it to a cgroup v2
directory. Once attached it stays with the directory (closing our descriptors does not detach it)
and goes when the directory is removed."""

from __future__ import annotations

import ctypes
import os
import struct

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "riscv64": 280}[os.uname().machine]
_PROG_LOAD, _PROG_ATTACH = 5, 8
PROG_TYPE_CGROUP_DEVICE = 15
ATTACH_CGROUP_DEVICE = 6
F_ALLOW_MULTI = 2  # other programs (systemd's, on an ancestor) keep running; each must allow

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd: int, attr: bytes, what: str) -> int:
    buf = ctypes.create_string_buffer(attr, len(attr))
    ret = _libc.syscall(_SYS_BPF, cmd, buf, len(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def load_device_program(insns: bytes, name: bytes = b"mc_devices") -> int:
    """Load a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd. A program the verifier refuses
    raises with the verifier's last line."""
    code = ctypes.create_string_buffer(insns, len(insns))
    license_ = ctypes.create_string_buffer(b"Apache-2.0")
    log = ctypes.create_string_buffer(1 << 16)
    attr = struct.pack("<IIQQIIQII16s", PROG_TYPE_CGROUP_DEVICE, len(insns) // 8, ctypes.addressof(code),
                       ctypes.addressof(license_), 1, len(log), ctypes.addressof(log), 0, 0, name)
    try:
        return _bpf(_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD) of the device program")
    except OSError as exc:
        lines = log.value.decode(errors="replace").strip().splitlines()
        raise OSError(exc.errno, f"{exc.strerror}{': ' + lines[-1] if lines else ''}") from None


def attach_device_program(cgroup_dir: str, prog_fd: int) -> None:
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _bpf(_PROG_ATTACH, struct.pack("<IIII", fd, prog_fd, ATTACH_CGROUP_DEVICE, F_ALLOW_MULTI),
             f"bpf(BPF_PROG_ATTACH) to {cgroup_dir}")
    finally:
        os.close(fd)


def limit_devices(cgroup_dir: str, insns: bytes) -> None:
    """Load the program and attach it to the directory."""
    prog = load_device_program(insns)
    try:
        attach_device_program(cgroup_dir, prog)
    finally:
        os.close(prog)
