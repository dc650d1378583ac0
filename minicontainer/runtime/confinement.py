"""What confines a container's processes as Docker's do: its capability sets, no_new_privs and
its seccomp filter, worked out from its record (HostConfig) before the fork and applied by the
child just before exec, in runc's order:

    seccomp (when no_new_privs is off: loading needs CAP_SYS_ADMIN, so before the drop)
    bounding set limited, ambient cleared     (needs CAP_SETPCAP: before the user switch)
    setgroups, setgid, setuid                 (runtime/spawn.py)
    capset: effective = permitted = the set for root, empty for another user; inheritable empty
    no_new_privs, then seccomp                (as late as possible: fewest syscalls after it)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from minicontainer.kernel import capabilities as kcaps
from minicontainer.specs import capabilities as caps


@dataclass(frozen=True)
class ProcessSecurity:
    cap_names: tuple[str, ...]       # what the process may have (the bounding set)
    cap_numbers: tuple[int, ...]
    last_cap: int
    privileged: bool                 # every capability, no seccomp: nothing to drop
    no_new_privileges: bool
    seccomp: bytes | None            # the compiled filter; None: unconfined
    seccomp_name: str                # "builtin" (Docker's default), "unconfined" or "custom"
    seccomp_default: str = ""        # its default action, for explain

    def before_user_switch(self) -> None:
        if self.seccomp is not None and not self.no_new_privileges:
            from minicontainer.kernel.seccomp import load
            load(self.seccomp)
        if not self.privileged:
            kcaps.limit_bounding(list(self.cap_numbers), self.last_cap)

    def after_user_switch(self, uid: int) -> None:
        if not self.privileged:
            # Docker gives a user other than root no effective or permitted capability (moby #36587)
            kept = list(self.cap_numbers) if uid == 0 else []
            kcaps.capset(kept, kept, [])
        if self.no_new_privileges or self.seccomp is not None:
            from minicontainer.kernel import seccomp
            if self.no_new_privileges:
                seccomp.set_no_new_privs()
                if self.seccomp is not None:
                    seccomp.load(self.seccomp)

    def trace(self) -> dict:
        """For the exec line of the trace (explain, --dry-run)."""
        return {"caps": list(self.cap_names), "privileged": self.privileged, "no_new_privileges": self.no_new_privileges,
                "seccomp": self.seccomp_name, "seccomp_default": self.seccomp_default}


def process_security(host_config: dict, cache_dir: str, privileged_exec: bool = False) -> ProcessSecurity:
    """The confinement a record's HostConfig asks for (exec --privileged: every capability,
    the container's seccomp filter still applies, as in Docker)."""
    from minicontainer.specs.security import parse_options
    last = kcaps.last_cap()
    privileged = bool(host_config.get("Privileged"))
    names = caps.container_caps(list(host_config.get("CapAdd") or ()), list(host_config.get("CapDrop") or ()),
                                privileged or privileged_exec, kcaps.bounding_set())
    opts = parse_options(host_config.get("SecurityOpt"))
    bpf, name, default = None, "unconfined", ""
    if not privileged and opts.seccomp != "unconfined":
        from minicontainer.kernel.seccomp import program
        from minicontainer.specs import seccomp as sp
        if opts.seccomp == "builtin":
            from minicontainer.specs.seccomp_default import DEFAULT, VERSION
            profile, name = DEFAULT, "builtin"
            # what the built-in filter depends on: its version, the capabilities, the machine, the kernel
            uname = os.uname()
            cached = f"builtin-{VERSION}-{caps.mask(names):x}-{uname.machine}-{uname.release}"
        else:
            profile, name, cached = sp.parse_docker_profile(opts.seccomp, "custom"), "custom", ""
        applied = sp.applicable(profile, names)
        bpf = program(applied, os.path.join(cache_dir, "seccomp"), cached)
        errno = f"({applied.default_errno})" if applied.default_errno is not None else ""
        default = applied.default_action + errno
    return ProcessSecurity(tuple(names), tuple(caps.numbers(names)), last, privileged or privileged_exec,
                           opts.no_new_privileges, bpf, name, default)
