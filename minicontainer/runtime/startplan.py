"""One start sequence (runc's linuxStandardInit): a container's whole start, in order, as data.

    network     host: the first use of its network (bridge, sysctls, firewall rules)
    files       host: the directories and /etc files its view is made of
    unshare     the namespaces its process gets, and those it joins (container:ID)
    exec        what its pid 1 runs
    host        host, once the child's namespaces exist: its cgroup (limits, devices), veth,
                /run/netns name, default route, the embedded DNS server (a user-defined network),
                published ports
    container   inside the new namespaces, before exec: into its cgroup, mounts, pivot_root, --read-only, --sysctl,
                masked and read-only paths, hostname

start_plan() builds it for a record; what it must take from the world (an address lease, the ports
other containers hold, the /etc files' text) comes through a World, so the supervisor executes the
plan for real and `run --dry-run` renders the same plan with nothing taken (runtime/dryrun.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from minicontainer import trace
from minicontainer.errors import StartError
from minicontainer.kernel.files import MakeDirs, WriteFile
from minicontainer.network.modes import NetworkMode
from minicontainer.plan import Step
from minicontainer.runtime.container_plan import container_plan
from minicontainer.runtime.etcfiles import ETC_FILES
from minicontainer.runtime.process_env import container_env
from minicontainer.runtime.spawn import Launch
from minicontainer.store.containers import ContainerRecord
from minicontainer.store.records import Endpoint, PublishedPort

if TYPE_CHECKING:
    from minicontainer.images.store import ImageStore
    from minicontainer.kernel.cgroups import Layout
    from minicontainer.store.containers import ContainerStore


class World(Protocol):
    """What building a start takes from outside the record."""

    containers: ContainerStore
    images: ImageStore
    cgroups: Layout | None  # where this machine's cgroup hierarchies are (None: it has none)

    def mode(self, value: str) -> NetworkMode: ...

    def lease(self, net, cid: str, ip: str = "") -> str:
        """An address on net for the container, `ip` if given (real: a lease file; dry run: the next free one)."""

    def taken_ports(self, cid: str) -> list[PublishedPort]:
        """What the other running containers publish."""

    def extra_hosts(self, rec: ContainerRecord) -> list[tuple[str, str]]:
        """Its --add-host and --link lines, (names, ip); refuses a link to a container not running."""

    def etc_texts(self, rec: ContainerRecord, ips: list[str], extra: list[tuple[str, str]]) -> dict[str, str]:
        """The text of its /etc files (hosts names its addresses once it has them)."""


class RuntimeWorld:
    """What a real start and a dry run take alike from a Runtime: its stores, its network modes,
    the ports its other running containers publish (dead supervisors reaped first). Subclasses say
    how an address is had and where the /etc files' text comes from."""

    look_only = False  # the network modes make no record (the default network's, for a dry run)

    def __init__(self, runtime):
        self.rt = runtime
        self.containers, self.images = runtime.containers, runtime.images

    def mode(self, value: str) -> NetworkMode:
        return self.rt.network_mode(value, look_only=self.look_only)

    @property
    def cgroups(self):
        from minicontainer.kernel.cgroups import layout
        return layout()

    def taken_ports(self, cid: str) -> list[PublishedPort]:
        return [p for r in self.rt.list() if r.id != cid for p in r.ports]

    def extra_hosts(self, rec: ContainerRecord) -> list[tuple[str, str]]:
        from minicontainer.runtime.etcfiles import extra_hosts
        return extra_hosts(self.rt, rec)

    def etc_texts(self, rec: ContainerRecord, ips: list[str], extra: list[tuple[str, str]]) -> dict[str, str]:
        """Written anew at each start, as Docker does: the addresses, the --add-host and --link lines
        and the resolv.conf (the host's may have changed, a network may have been connected)."""
        from minicontainer.runtime.etcfiles import container_files
        return container_files(rec, self.mode(rec.network_mode).host_files, ips, extra)


@dataclass
class StartPlan:
    """A container's start as data, phase by phase (the module docstring gives the order)."""

    mode: NetworkMode
    endpoints: list[Endpoint]
    network: list[Step]
    files: list[Step]
    namespaces: list[str]
    joins: dict[str, int]              # namespace kind -> pid of the process whose namespace it enters
    launch: Launch
    container: list[Step]
    host: Callable[[int], list[Step]]  # given the child's pid
    host_pid: bool = False             # --pid host: no pid namespace of its own

    def trace_lines(self, pid: int = 0) -> list[dict]:
        """The whole start as trace lines, in the order a real start writes them (a dry run's
        script; the host steps name the child as $pid when pid is 0)."""
        return ([trace.entry(s, "network") for s in self.network] + [trace.entry(s, "files") for s in self.files]
                + [trace.unshare_line(self.namespaces, self.joins, self.host_pid), trace.exec_line(self.launch)]
                + [trace.entry(s, "host") for s in self.host(pid)] + [trace.entry(s, "container") for s in self.container])


def launch_for(rec: ContainerRecord, cache_dir: str, winsize: bytes | None = None) -> Launch:
    """What the container's pid 1 runs, how its stdio is wired (with -i its stdin is a pipe the
    supervisor holds open, fed from our stdin in the foreground, by `attach` clients when detached)
    and how it is confined (its capabilities and seccomp filter; cache_dir keeps compiled filters)."""
    from minicontainer.runtime.confinement import process_security
    init = [INIT_PATH, "--"] if rec.host_config.get("Init") else []
    return Launch(argv=init + rec.command, env=container_env(rec), cwd=rec.config.get("WorkingDir") or "/",
                  user=rec.config.get("User") or "", tty=rec.config.get("Tty", False),
                  stdin=rec.config.get("OpenStdin", False), winsize=winsize,
                  security=process_security(rec.host_config, cache_dir),
                  ulimits=list(rec.host_config.get("Ulimits") or []))


INIT_PATH = "/sbin/docker-init"       # where --init's pid 1 is in the container, as in Docker
INIT_BINARY = "/usr/bin/tini-static"  # Debian's tini, statically linked: what Docker ships as docker-init


def init_mount(rec: ContainerRecord, merged: str) -> list[Step]:
    """--init: the host's tini bind-mounted read-only at /sbin/docker-init."""
    if not rec.host_config.get("Init"):
        return []
    if not os.path.exists(INIT_BINARY):
        raise StartError(f"--init: {INIT_BINARY} not found (Debian's tini package has it; scripts/setup installs it)",
                         125)
    from minicontainer.kernel.mounts import BindMount
    return [BindMount(INIT_BINARY, merged, INIT_PATH, readonly=True,
                      why="--init: a tiny pid 1 (tini) that reaps zombies and passes signals on")]


def file_steps(store: ContainerStore, rec: ContainerRecord, texts: dict[str, str]) -> list[Step]:
    """The files the container's view is built from: its overlay directories, the /etc files it gets,
    and the sources of its volumes and -v binds (Docker creates a missing -v host directory)."""
    steps: list[Step] = [MakeDirs([store.path(rec.id, d) for d in ("upper", "work", "merged")],
                                  why="the container's writable layer, overlay work dir and mount point")]
    steps += [WriteFile(store.path(rec.id, name), text, why=f"its /etc/{name}") for name, text in texts.items()]
    sources = [m.source for m in rec.mounts if m.type != "tmpfs" and
               (os.path.isdir(m.source) or (m.create_source and not os.path.exists(m.source)))]
    if sources:
        steps.append(MakeDirs(sources, why="volume and bind mount sources (Docker creates a missing -v host dir)"))
    return steps


def etc_mounts(store: ContainerStore, rec: ContainerRecord, owner: str) -> dict[str, str]:
    """The /etc files of `owner` (the container itself, or the one whose network it joins),
    bind-mounted over the image's, except where the user mounts one of their own (`-v
    ./hosts:/etc/hosts:ro`: Docker lets the user's mount win)."""
    mine = {os.path.normpath(m.target) for m in rec.mounts}
    return {f"/etc/{n}": store.path(owner, n) for n in ETC_FILES if f"/etc/{n}" not in mine}


def namespaces_of(rec: ContainerRecord, mode) -> list[str]:
    """The namespaces the container's process makes: its network mode's, less the UTS namespace
    with --uts host (it keeps the host's, and so its hostname)."""
    shared = {"uts"} if rec.host_config.get("UTSMode") == "host" else set()
    return [kind for kind in mode.namespaces if kind not in shared]


def container_steps(world: World, rec: ContainerRecord, private_net: bool, private_uts: bool = True) -> list[Step]:
    """The steps inside the container's new namespaces (runtime/container_plan.py)."""
    store = world.containers
    merged = store.path(rec.id, "merged")
    volume_steps = init_mount(rec, merged)
    if rec.mounts:
        from minicontainer.runtime.volumes import mount_steps
        volume_steps += mount_steps(rec.mounts, merged)
    from minicontainer.runtime.devices import nodes
    from minicontainer.specs.resources import from_host_config
    hc = rec.host_config
    return container_plan(
        lower=world.images.lower_dirs(world.images.get(rec.image_id)), upper=store.path(rec.id, "upper"),
        work=store.path(rec.id, "work"), merged=merged, hostname=rec.config["Hostname"] if private_uts else None, private_net=private_net,
        etc_files=etc_mounts(store, rec, world.mode(rec.network_mode).etc_owner(rec.id)),
        volume_steps=volume_steps, privileged=bool(hc.get("Privileged")), devices=nodes(from_host_config(hc)),
        sysctls=hc.get("Sysctls") or {}, read_only=bool(hc.get("ReadonlyRootfs"))).steps


def check_sysctls(rec: ContainerRecord, namespaces: list[str]) -> None:
    """runc's refusal: a net.* sysctl needs a network namespace that is not the host's."""
    if "net" in namespaces or rec.network_mode.startswith("container:"):
        return
    for key in rec.host_config.get("Sysctls") or {}:
        if key.startswith("net."):
            raise StartError(f'failed to create task for container: sysctl "{key}" not allowed in host network '
                             "namespace: unknown", 125)


def host_steps(rec: ContainerRecord, mode: NetworkMode, endpoints: list[Endpoint], cgroup: Step | None,
               pid: int) -> list[Step]:
    """The host side of a start, once the child's namespaces exist: its cgroup made first (the
    child enters it when it goes on), then its network mode's steps."""
    return ([cgroup] if cgroup else []) + mode.host_steps(rec, endpoints, pid)


def start_plan(world: World, rec: ContainerRecord, winsize: bytes | None = None) -> StartPlan:
    """Everything a start of rec does, in order. Refusals come before anything is taken; the lease
    (the only thing taken) comes last, so a refusal leaves nothing to give back."""
    mode = world.mode(rec.network_mode)
    # Only a fixed host port can clash; the others' ports (a read of every record) are not needed
    # for -p 80 (a random port): that read would grow with the containers.
    if mode.publishes and any(b.host_port for b in rec.port_bindings):
        from minicontainer.network.ports import allocated_error, conflicts
        clash = conflicts(rec.port_bindings, world.taken_ports(rec.id))
        if clash:
            raise allocated_error(rec.name, rec.id, clash)
    joins = mode.joins()
    extra = world.extra_hosts(rec)
    namespaces = namespaces_of(rec, mode)
    check_sysctls(rec, namespaces)
    from minicontainer.runtime.cgroup import EnterCgroup, cgroup_step
    cgroup = cgroup_step(rec.host_config, rec.id, world.cgroups)
    container = ([EnterCgroup(cgroup.entry_files())] if cgroup else []) + \
        container_steps(world, rec, "net" in namespaces, "uts" in namespaces)
    launch = launch_for(rec, world.containers.root.lib, winsize)
    endpoints = mode.reserve(rec, world.lease)
    network = mode.first_use_steps(rec)
    files = file_steps(world.containers, rec, world.etc_texts(rec, [ep.ip for ep in endpoints], extra))
    return StartPlan(mode=mode, endpoints=endpoints, network=network, files=files, namespaces=namespaces,
                     joins=joins, launch=launch, container=container,
                     host=lambda pid: host_steps(rec, mode, endpoints, cgroup, pid),
                     host_pid=rec.host_config.get("PidMode") == "host")
