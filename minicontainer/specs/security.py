"""--cap-add, --cap-drop, --privileged and --security-opt as Docker's client and daemon take them.

Like Docker's client, `--security-opt seccomp=FILE` is read here and kept as
`seccomp=<the file's JSON>` (HostConfig.SecurityOpt holds the profile itself, so a start never
depends on the file again)."""

from __future__ import annotations

from dataclasses import dataclass, field

from minicontainer.errors import DaemonError, MCError
from minicontainer.specs.capabilities import ALL_KNOWN, normalize


@dataclass(frozen=True)
class SecuritySpec:
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security_opt: tuple[str, ...] = ()   # as HostConfig.SecurityOpt keeps them


@dataclass(frozen=True)
class SecurityOptions:
    """What HostConfig.SecurityOpt asks of a start."""

    seccomp: str = "builtin"             # "builtin", "unconfined" or a profile's JSON
    no_new_privileges: bool = False
    others: tuple[str, ...] = field(default=())  # apparmor=, label=: kept, nothing here enforces them


def _read_profile(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise MCError(f"opening seccomp profile ({path}) failed: open {path}: {(exc.strerror or str(exc)).lower()}", 125) from None


def client_security_opts(values: list[str]) -> list[str]:
    """The client's part: `seccomp=FILE` becomes `seccomp=<JSON>`; a key=value or key:value form."""
    out = []
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep:
            key, sep, value = raw.partition(":")
        if key == "seccomp" and sep and value not in ("unconfined", "builtin"):
            raw = "seccomp=" + _read_profile(value)
        out.append(raw)
    return out


def parse_options(values) -> SecurityOptions:
    """The daemon's part (moby's parseSecurityOpt): Docker's messages for what it refuses."""
    seccomp, nnp, others = "builtin", False, []
    for raw in values or ():
        if raw == "no-new-privileges":
            nnp = True
            continue
        key, sep, value = raw.partition("=")
        if not sep:
            key, sep, value = raw.partition(":")
        if not sep:
            raise DaemonError(f'invalid --security-opt 1: "{raw}"', 125)
        if key == "seccomp":
            seccomp = value
        elif key == "no-new-privileges":
            if value not in ("true", "false"):
                raise DaemonError(f'invalid --security-opt 2: "{raw}"', 125)
            nnp = value == "true"
        elif key in ("apparmor", "label", "systempaths", "writable-cgroups"):
            others.append(raw)
        else:
            raise DaemonError(f'invalid --security-opt 2: "{raw}"', 125)
    return SecurityOptions(seccomp, nnp, tuple(others))


def security_spec(cap_add=(), cap_drop=(), privileged=False, security_opt=()) -> SecuritySpec:
    """Validated: an unknown capability or option fails here, before anything is created."""
    normalize(list(cap_add), "CapAdd", ALL_KNOWN)  # known names here; what this machine has, at the start
    normalize(list(cap_drop), "CapDrop", ALL_KNOWN)
    opts = client_security_opts(list(security_opt))
    parsed = parse_options(opts)
    if parsed.seccomp not in ("builtin", "unconfined"):
        from minicontainer.specs.seccomp import parse_docker_profile
        parse_docker_profile(parsed.seccomp, "custom")
    return SecuritySpec(tuple(cap_add), tuple(cap_drop), bool(privileged), tuple(opts))
