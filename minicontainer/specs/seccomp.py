"""Seccomp profiles: our model, the reader of Docker's JSON format (`--security-opt
seccomp=FILE.json`), and which rules apply to a container (its capabilities, the machine's
architecture, the kernel). Pure; kernel/seccomp.py compiles and loads the result.

Docker's format, as moby's profiles/seccomp reads it: defaultAction (+ defaultErrnoRet), archMap
(the native architecture and its sub-architectures), syscalls[]: names, action (+ errnoRet), args
(index, value, valueTwo, op; all must hold), includes / excludes (caps, arches, minKernel).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from minicontainer.errors import DaemonError

ACTIONS = ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
           "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG")
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")
# uname -m -> the Go name Docker's includes/excludes use, and libseccomp's for the archMap
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "riscv64": "riscv64", "s390x": "s390x",
           "ppc64le": "ppc64le"}
SCMP_ARCH = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
             "riscv64": "SCMP_ARCH_RISCV64", "s390x": "SCMP_ARCH_S390X", "ppc64le": "SCMP_ARCH_PPC64LE"}
_SUB_GO = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X32": "x32", "SCMP_ARCH_ARM": "arm"}


@dataclass(frozen=True)
class Arg:
    index: int
    op: str          # SCMP_CMP_*
    value: int
    value_two: int = 0


@dataclass(frozen=True)
class Rule:
    names: tuple[str, ...]
    action: str = "SCMP_ACT_ALLOW"
    errno: int | None = None
    args: tuple[Arg, ...] = ()
    caps: tuple[str, ...] = ()           # applies only with all of these capabilities
    not_caps: tuple[str, ...] = ()       # ... and none of these
    arches: tuple[str, ...] = ()         # Go arch names; empty: every
    not_arches: tuple[str, ...] = ()
    min_kernel: str = ""


@dataclass(frozen=True)
class Profile:
    name: str                            # what explain calls it: "builtin" or the file's
    default_action: str
    default_errno: int | None
    rules: tuple[Rule, ...]
    arch_map: dict = field(default_factory=dict, hash=False, compare=False)  # SCMP_ARCH_X -> [sub-arches]


@dataclass(frozen=True)
class Applied:
    """What is compiled for one container: its rules, for its architectures."""

    default_action: str
    default_errno: int | None
    arches: tuple[str, ...]              # SCMP_ARCH_*: the native one first
    rules: tuple[Rule, ...]

    def key(self) -> str:
        """A stable text naming this filter (the compiled program's cache key)."""
        return json.dumps([self.default_action, self.default_errno, self.arches,
                           [[r.names, r.action, r.errno, [[a.index, a.op, a.value, a.value_two] for a in r.args]]
                            for r in self.rules]])


def _kernel_at_least(version: str, release: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        out = []
        for p in v.split("-")[0].split(".")[:2]:
            digits = "".join(ch for ch in p if ch.isdigit())
            out.append(int(digits or 0))
        return tuple(out)
    return parts(release) >= parts(version)


def applicable(profile: Profile, caps: list[str], machine: str | None = None, release: str | None = None) -> Applied:
    """The rules that hold for a process with caps on this machine (moby's setupSeccomp)."""
    machine = machine or os.uname().machine
    release = release or os.uname().release
    go_arch = GO_ARCH.get(machine, machine)
    native = SCMP_ARCH.get(go_arch, "")
    arches = (native, *profile.arch_map.get(native, ())) if native else ()
    mine = {go_arch, *(_SUB_GO[a] for a in arches[1:] if a in _SUB_GO)}
    have = set(caps)
    rules = []
    for r in profile.rules:
        if r.caps and not set(r.caps) <= have:
            continue
        if r.not_caps and set(r.not_caps) & have:
            continue
        if r.arches and not set(r.arches) & mine:
            continue
        if r.not_arches and set(r.not_arches) & mine:
            continue
        if r.min_kernel and not _kernel_at_least(r.min_kernel, release):
            continue
        rules.append(r)
    return Applied(profile.default_action, profile.default_errno, arches, tuple(rules))


def _bad(why: str) -> DaemonError:
    return DaemonError(f"Decoding seccomp profile failed: {why}", 125)


def _action(value, where: str) -> str:
    if value not in ACTIONS:
        raise _bad(f"{where}: unknown action {value!r}")
    return value


def parse_docker_profile(text: str, name: str) -> Profile:
    """A profile in Docker's JSON format; a clear error for what Docker would refuse."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _bad(str(exc)) from None
    if not isinstance(data, dict):
        raise _bad("the profile must be a JSON object")
    default = _action(data.get("defaultAction"), "defaultAction")
    arch_map = {}
    for entry in data.get("archMap") or ():
        arch_map[entry["architecture"]] = tuple(entry.get("subArchitectures") or ())
    for arch in data.get("architectures") or ():  # the older flat list: every one is native
        arch_map.setdefault(arch, ())
    rules = []
    for i, s in enumerate(data.get("syscalls") or ()):
        names = tuple(s.get("names") or ([s["name"]] if s.get("name") else []))
        if not names:
            raise _bad(f"syscalls[{i}]: no names")
        args = []
        for a in s.get("args") or ():
            if a.get("op") not in OPS:
                raise _bad(f"syscalls[{i}]: unknown operator {a.get('op')!r}")
            args.append(Arg(int(a["index"]), a["op"], int(a.get("value", 0)), int(a.get("valueTwo", 0))))
        inc, out = s.get("includes") or {}, s.get("excludes") or {}
        rules.append(Rule(names=names, action=_action(s.get("action"), f"syscalls[{i}]"), errno=s.get("errnoRet"),
                          args=tuple(args), caps=tuple(inc.get("caps") or ()), not_caps=tuple(out.get("caps") or ()),
                          arches=tuple(inc.get("arches") or ()), not_arches=tuple(out.get("arches") or ()),
                          min_kernel=inc.get("minKernel") or ""))
    return Profile(name, default, data.get("defaultErrnoRet"), tuple(rules), arch_map)
