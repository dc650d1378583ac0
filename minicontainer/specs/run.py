"""`run` input as a validated dataclass. Pure: no I/O except reading the caller's environment for `-e KEY`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from minicontainer.errors import DaemonError, UsageError
from minicontainer.specs.dns import DnsSpec
from minicontainer.specs.names import validate_name
from minicontainer.specs.process import check_workdir, parse_env
from minicontainer.specs.resources import Resources
from minicontainer.specs.restart import RestartPolicy
from minicontainer.specs.security import SecuritySpec

_HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62}[a-zA-Z0-9])?$")


@dataclass
class RunSpec:
    """Everything `run` and `create` were asked for, validated."""

    image: str
    command: list[str] = field(default_factory=list)
    name: str | None = None
    detach: bool = False
    remove: bool = False
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    hostname: str = ""
    interactive: bool = False
    tty: bool = False
    network: str = "bridge"                       # the first network: HostConfig.NetworkMode
    networks: list = field(default_factory=list)  # NetworkAttachment, one per --network, in order
    publish: list = field(default_factory=list)   # PortBinding
    mounts: list = field(default_factory=list)    # MountSpec, from -v and --mount
    binds: list = field(default_factory=list)     # the -v strings, as HostConfig.Binds keeps them
    user: str = ""                                # -u: "" means the image's User
    entrypoint: str | list[str] | None = None     # --entrypoint (the API's: a list): None means the image's; "" or [] clears it
    publish_all: bool = False                     # -P: every ExposedPorts entry on a random host port
    domainname: str = ""                          # --domainname: Config.Domainname
    expose: list = field(default_factory=list)    # --expose: ExposedPorts keys ("80/tcp"), for -P too
    dns: DnsSpec = field(default_factory=DnsSpec)  # --dns, --dns-search, --dns-option, --add-host, --link
    uts: str = ""                                 # --uts: "" (its own UTS namespace) or "host" (HostConfig.UTSMode)
    pid: str = ""                                 # --pid: "" (its own pid namespace) or "host" (HostConfig.PidMode)
    security: SecuritySpec = field(default_factory=SecuritySpec)  # --cap-add, --cap-drop, --privileged, --security-opt
    resources: Resources = field(default_factory=Resources)      # --memory, --cpus, --pids-limit, --device, ...
    sysctls: dict = field(default_factory=dict)   # --sysctl: HostConfig.Sysctls
    read_only: bool = False                       # --read-only: HostConfig.ReadonlyRootfs
    ulimits: list = field(default_factory=list)   # --ulimit: HostConfig.Ulimits
    init: bool = False                            # --init: HostConfig.Init
    restart: RestartPolicy = field(default_factory=RestartPolicy)  # --restart: HostConfig.RestartPolicy
    labels: dict = field(default_factory=dict)    # --label: Config.Labels


def validate(spec: RunSpec) -> RunSpec:
    """The checks that need nothing but the spec; the network mode's own (conflicting flags, an
    unknown network) are its driver's (network/modes.py), made before anything is created."""
    if spec.name is not None:
        spec.name = validate_name(spec.name)
    check_workdir(spec.workdir)
    if spec.hostname and not _HOSTNAME_RE.match(spec.hostname):
        raise DaemonError(f"invalid hostname format: {spec.hostname}", 125)
    if spec.uts not in ("", "host"):
        raise DaemonError(f"invalid UTS mode: {spec.uts}", 125)
    if spec.uts == "host" and spec.hostname:
        raise DaemonError("conflicting options: hostname and the UTS mode", 125)
    if spec.pid.startswith("container:"):
        raise DaemonError(f"--pid {spec.pid}: joining another container's pid namespace is not supported by "
                          "minicontainer yet (host is)", 125)
    if spec.pid not in ("", "host"):
        raise DaemonError(f"invalid PID mode: {spec.pid}", 125)
    if spec.network.startswith("container:"):
        if not spec.network.partition(":")[2]:
            raise DaemonError("invalid container format container:<name|id>", 125)
    for name in [a.network for a in spec.networks] or [spec.network]:
        if not name or "/" in name:
            raise DaemonError(f"network {name} not found", 125)
    return spec


def from_options(image: str, command=(), *, name=None, detach=False, remove=False, env=(), workdir="", hostname="",
                 interactive=False, tty=False, network="bridge", publish=(), volume=(), mount=(), user="",
                 entrypoint=None, publish_all=False, ip="", mac_address="", network_alias=(), domainname="",
                 dns=(), dns_search=(), dns_option=(), add_host=(), link=(), expose=(), tmpfs=(), uts="", pid="",
                 cap_add=(), cap_drop=(), privileged=False, security_opt=(), sysctl=(), read_only=False,
                 ulimit=(), init=False, restart="", label=(), **limits) -> RunSpec:
    """A validated RunSpec from `run`'s options as strings, the way the CLI and the Python API both
    take them (`publish=["8080:80"]`, `volume=["/src:/dst:ro"]`): one parser, the same errors.
    limits: the resource flags, as specs/resources.resources_spec names them (memory="32m", cpus="0.5")."""
    from minicontainer.specs.dns import dns_spec
    from minicontainer.specs.network import attachments
    from minicontainer.specs.ports import parse_all, parse_expose
    from minicontainer.specs.resources import resources_spec
    from minicontainer.specs.restart import parse as parse_restart
    from minicontainer.specs.security import security_spec
    from minicontainer.specs.sysctl import parse as parse_sysctls
    from minicontainer.specs.ulimits import parse as parse_ulimits
    from minicontainer.specs.volumes import check_duplicates, parse_mount, parse_tmpfs, parse_volume
    mounts = check_duplicates([parse_volume(v) for v in volume] + [parse_mount(m) for m in mount]
                              + [parse_tmpfs(t) for t in tmpfs])
    networks = attachments([network] if isinstance(network, str) else list(network), ip, mac_address, list(network_alias))
    spec = RunSpec(image=image, command=list(command), name=name or None, detach=detach, remove=remove,
                   env=parse_env(list(env)), workdir=workdir, hostname=hostname, interactive=interactive, tty=tty,
                   network=networks[0].network, networks=networks, publish=parse_all(list(publish)), mounts=mounts, binds=list(volume), user=user,
                   entrypoint=entrypoint, publish_all=publish_all, domainname=domainname,
                   dns=dns_spec(dns, dns_search, dns_option, add_host, link),
                   expose=[key for e in expose for key in parse_expose(e)], uts=uts, pid=pid,
                   security=security_spec(cap_add, cap_drop, privileged, security_opt),
                   resources=resources_spec(**limits), sysctls=parse_sysctls(sysctl), read_only=read_only,
                   ulimits=parse_ulimits(ulimit), init=init, restart=parse_restart(restart),
                   labels=dict(item.partition("=")[::2] for item in label))
    if remove and spec.restart.restarts:
        raise UsageError("conflicting options: cannot specify both --restart and --rm")
    return validate(spec)
