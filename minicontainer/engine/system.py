"""_ping, version, info: what every client asks first (the CLI pings once per command and takes
the API version from the Api-Version header; docker-py asks /version for ApiVersion)."""

from __future__ import annotations

import os
import platform

from minicontainer import __version__
from minicontainer.engine.http import API_VERSION, MIN_API_VERSION
from minicontainer.engine.routes import route

_PING_HEADERS = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
                 "Builder-Version": "1", "Swarm": "inactive"}


@route("GET", "/_ping")
def ping(rt, req, resp) -> None:
    resp.send(200, b"OK", "text/plain; charset=utf-8", _PING_HEADERS)


def _arch() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@route("GET", "/version")
def version(rt, req, resp) -> None:
    kernel = os.uname().release
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": _arch(),
               "KernelVersion": kernel, "GitCommit": "", "GoVersion": f"python{platform.python_version()}",
               "BuildTime": ""}
    # Experimental: a string among a component's Details, a bool at the top (typed decoding cares)
    resp.json(200, {"Platform": {"Name": f"minicontainer {__version__}"},
                    "Components": [{"Name": "Engine", "Version": __version__,
                                    "Details": {**details, "Experimental": "false"}}],
                    "Version": __version__, **details, "Experimental": False})


@route("GET", "/info")
def info(rt, req, resp) -> None:
    from minicontainer.kernel import cgroups
    recs = [r for r in rt.containers.all() if not r.creator]
    running = sum(1 for r in recs if r.running)
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        mem = 0
    layout = cgroups.layout()
    resp.json(200, {
        "ID": "", "Debug": False, "Containers": len(recs), "ContainersRunning": running, "ContainersPaused": 0,
        "ContainersStopped": len(recs) - running, "Images": len(rt.images.list()),
        "Driver": "overlay2", "DockerRootDir": rt.root.lib, "Name": os.uname().nodename,
        "ServerVersion": __version__, "OSType": "linux", "OperatingSystem": _os_name(), "Architecture": platform.machine(),
        "KernelVersion": os.uname().release, "NCPU": os.cpu_count() or 1, "MemTotal": mem,
        "CgroupDriver": "cgroupfs", "CgroupVersion": str(layout.version) if layout else "",
        "DefaultRuntime": "minicontainer", "Runtimes": {"minicontainer": {"path": "minicontainer"}},
        "SecurityOptions": ["name=seccomp,profile=builtin"], "LoggingDriver": "json-file",
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Log": ["json-file"]},
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                  "Error": "", "RemoteManagers": None},
        "Warnings": None,
    })


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


SWARM_MESSAGE = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect '
                 "this node to swarm and try again.")


@route("*", "/{area}")
@route("*", "/{area}/{rest*}")
def no_swarm(rt, req, resp, area: str, rest: str = "") -> None:
    """Swarm's endpoints as a daemon outside a swarm answers them (503: docker-py's leave_swarm(force)
    takes that as done); any other unknown path is a 404."""
    from minicontainer.engine.errors import ApiError
    if area in ("swarm", "services", "nodes", "tasks", "secrets", "configs"):
        raise ApiError(503, SWARM_MESSAGE)
    raise ApiError(404, f"page not found: {req.method} {req.path} is not served by minicontainer")


@route("GET", "/events")
def events(rt, req, resp) -> None:
    """The event journal (store/events.py) from `since` on, then as events come, until `until` or
    until the client leaves. Filters: type, event, container (id or name), image, label."""
    import json

    from minicontainer.engine.errors import ApiError
    from minicontainer.store.events import stream

    def stamp(name: str) -> float | None:
        value = req.query.get(name, "")
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            raise ApiError(400, f"invalid value for {name}: {value}") from None
    since, until, wanted = stamp("since"), stamp("until"), req.json_filters()
    out = resp.stream(200, "application/json")
    left = []

    def pause() -> bool:
        if req.conn.hung_up(0.1):
            left.append(True)
        return not left
    for event in stream(rt.root.run, since, until, wanted, pause):
        out.write(json.dumps(event).encode() + b"\n")
    if not left:
        out.close()
