"""Seccomp filters: compiled by libseccomp (through pyseccomp, a ctypes binding), cached as BPF,
loaded with prctl just before a container's process execs.

Why compile once and cache: importing the binding and building Docker's ~400 rules costs ~20 ms;
reading the cached program costs microseconds, and the child that loads it needs nothing but
prctl (no library imported between fork and exec)."""

from __future__ import annotations

import ctypes
import os

from minicontainer.specs.seccomp import Applied

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_libc = ctypes.CDLL(None, use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _compile(applied: Applied) -> bytes:
    import tempfile

    import pyseccomp as sc

    def action(name: str, errno: int | None):
        if name == "SCMP_ACT_ERRNO":
            return sc.ERRNO(1 if errno is None else errno)
        if name == "SCMP_ACT_TRACE":
            return sc.TRACE(1 if errno is None else errno)
        return {"SCMP_ACT_ALLOW": sc.ALLOW, "SCMP_ACT_KILL": sc.KILL, "SCMP_ACT_KILL_THREAD": sc.KILL_THREAD,
                "SCMP_ACT_KILL_PROCESS": sc.KILL_PROCESS, "SCMP_ACT_TRAP": sc.TRAP, "SCMP_ACT_LOG": sc.LOG}[name]

    ops = {"SCMP_CMP_NE": sc.NE, "SCMP_CMP_LT": sc.LT, "SCMP_CMP_LE": sc.LE, "SCMP_CMP_EQ": sc.EQ,
           "SCMP_CMP_GE": sc.GE, "SCMP_CMP_GT": sc.GT, "SCMP_CMP_MASKED_EQ": sc.MASKED_EQ}
    f = sc.SyscallFilter(action(applied.default_action, applied.default_errno))
    for arch in applied.arches[1:]:  # the native one is there already
        f.add_arch(getattr(sc.Arch, arch.removeprefix("SCMP_ARCH_")))
    for rule in applied.rules:
        act = action(rule.action, rule.errno)
        if act == f._defaction:
            continue  # libseccomp refuses a rule that repeats the default
        args = [sc.Arg(a.index, ops[a.op], a.value, a.value_two) for a in rule.args]
        for name in rule.names:
            try:
                f.add_rule(act, name, *args)
            except (ValueError, RuntimeError, OSError):
                continue  # a syscall this libseccomp does not know (a newer kernel's), as runc skips it
    with tempfile.TemporaryFile() as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


def program(applied: Applied, cache_dir: str, name: str = "") -> bytes:
    """The BPF program for applied, compiled once per distinct filter and kept in cache_dir under
    name, or (a profile of the user's) a digest of its rules: hashlib costs 3 ms to import, so the
    built-in profile is named by what it depends on instead."""
    if not name:
        import hashlib
        name = hashlib.sha256(applied.key().encode()).hexdigest()[:32]
    path = os.path.join(cache_dir, name + ".bpf")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        pass
    bpf = _compile(applied)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(bpf)
    os.replace(tmp, path)
    return bpf


def set_no_new_privs() -> None:
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(err)}")


def load(bpf: bytes) -> None:
    """Install the filter on the calling thread (needs CAP_SYS_ADMIN or no_new_privs)."""
    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = _SockFprog(len(bpf) // 8, ctypes.addressof(buf))
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp filter: {os.strerror(err)}")
