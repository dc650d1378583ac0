"""The container endpoints: create, start, wait, stop, kill, restart, pause, unpause, rename,
resize, remove, list, inspect, top, prune. Each is the CLI command's Runtime call with the JSON
Docker's daemon returns; logs and attach are in streams.py, stats in stats.py, cp in archive.py."""

from __future__ import annotations

import time

from minicontainer.clock import parse_time
from minicontainer.engine.errors import ApiError
from minicontainer.engine.routes import route
from minicontainer.errors import NoSuchContainer

POLL = 0.01  # how often a wait reads the record


@route("POST", "/containers/create")
def create(rt, req, resp) -> None:
    from minicontainer.engine.translate import run_spec
    body = req.json()
    spec = run_spec(body, req.query.get("name", ""))
    warnings = []
    mode = rt.network_mode(spec.network, look_only=True)
    if spec.publish and mode.publish_warning:
        warnings.append(mode.publish_warning.removeprefix("WARNING: "))
    rec = rt.create_with_image(spec, pull_policy="never")  # the API never pulls here: a 404 makes the client pull
    size = (body.get("HostConfig") or {}).get("ConsoleSize") or [0, 0]
    if spec.tty and len(size) == 2 and size[0] and size[1]:  # the TTY's size at start (API 1.42+ clients send it)
        with rt.containers.lock(rec.id):
            rec = rt.containers.load(rec.id)
            rec.host_config["ConsoleSize"] = [int(size[0]), int(size[1])]
            rt.containers.save(rec)
    resp.json(201, {"Id": rec.id, "Warnings": warnings + rt.warnings})


@route("POST", "/containers/{ref}/start")
def start(rt, req, resp, ref: str) -> None:
    from minicontainer.errors import StartError
    if rt.get(ref).running:
        resp.send(304)
        return
    try:
        rt.start(ref)
    except StartError as exc:
        raise ApiError(400, str(exc.args[0])) from None
    resp.send(204)


@route("POST", "/containers/{ref}/stop")
def stop(rt, req, resp, ref: str) -> None:
    if not rt.get(ref).running:
        resp.send(304)
        return
    rt.stop(ref, req.number("t", 10))
    resp.send(204)


@route("POST", "/containers/{ref}/restart")
def restart(rt, req, resp, ref: str) -> None:
    rt.restart(ref, req.number("t", 10))
    resp.send(204)


@route("POST", "/containers/{ref}/pause")
def pause(rt, req, resp, ref: str) -> None:
    rt.pause(ref)
    resp.send(204)


@route("POST", "/containers/{ref}/unpause")
def unpause(rt, req, resp, ref: str) -> None:
    rt.unpause(ref)
    resp.send(204)


@route("POST", "/containers/{ref}/rename")
def rename(rt, req, resp, ref: str) -> None:
    new = req.query.get("name", "")
    if not new:
        raise ApiError(400, "Neither old nor new names may be empty")
    rt.rename(ref, new)
    resp.send(204)


@route("POST", "/containers/{ref}/kill")
def kill(rt, req, resp, ref: str) -> None:
    from minicontainer.cli.commands import parse_signal
    rt.kill(ref, parse_signal(req.query.get("signal") or "KILL"))
    resp.send(204)


@route("DELETE", "/containers/{ref}")
def remove(rt, req, resp, ref: str) -> None:
    rt.remove(ref, force=req.flag("force"), volumes=req.flag("v"))
    resp.send(204)


@route("POST", "/containers/prune")
def prune(rt, req, resp) -> None:
    from minicontainer.images.layers import dir_size
    gone, freed = [], 0
    for rec in rt.list(all_=True):
        if not rec.running and rec.status != "restarting":
            size = dir_size(rt.containers.path(rec.id, "upper"))
            try:
                rt.remove(rec.id)
            except NoSuchContainer:
                continue
            gone.append(rec.id)
            freed += size
    resp.json(200, {"ContainersDeleted": gone or None, "SpaceReclaimed": freed})


@route("POST", "/containers/{ref}/wait")
def wait(rt, req, resp, ref: str) -> None:
    """The 200 and its headers at once, the body at the exit: the CLI sends `start` only once it has
    the headers (docker-api.md §0.3). A client that hangs up ends the wait."""
    from minicontainer.store import waiters
    condition = req.query.get("condition") or "not-running"
    if condition not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition: {condition}")
    rec = rt.get(ref)
    removes_itself = condition == "removed" or rec.host_config.get("AutoRemove")
    registered = waiters.register(rt.root.run, rec.id) if removes_itself else ""
    try:
        body = resp.stream(200, "application/json")
        code = _wait_for(rt, rec, condition, req.conn, registered)
        if code is None:
            return  # the client left
        body.write(b'{"Error":null,"StatusCode":%d}\n' % code)
        body.close()
    finally:
        if registered:
            waiters.collect(registered)


def _wait_for(rt, rec, condition: str, conn, registered: str) -> int | None:
    """The exit code once condition holds; None if the client hung up first."""
    from minicontainer.store import waiters
    first_finish = rec.finished_at
    code = rec.exit_code
    while True:
        now = rt.current(rec.id)
        if now is None:  # removed: the code the supervisor left for us, else the last one seen
            told = waiters.collect(registered) if registered else None
            return told if told is not None else code
        code = now.exit_code
        exited = not now.running  # "restarting" too: moby's waiters are told of each exit (SetRestarting)
        if condition == "not-running" and exited:
            return code
        if condition == "next-exit" and exited and now.finished_at != first_finish:
            return code
        if conn.hung_up(POLL):
            return None


@route("GET", "/containers/{ref}/json")
def inspect(rt, req, resp, ref: str) -> None:
    from minicontainer.view.inspect import container_json
    out = container_json(rt, rt.get(ref))
    if req.flag("size"):
        out["SizeRw"], out["SizeRootFs"] = 0, 0
    resp.json(200, out)


@route("GET", "/containers/json")
def list_containers(rt, req, resp) -> None:
    from minicontainer.cli.commands import ps_filter
    filters = req.json_filters()
    wanted, keep = ps_filter([f"{k}={v}" for k, values in filters.items() for v in values])
    recs = [r for r in rt.list(all_=req.flag("all") or "status" in wanted or "exited" in wanted) if keep(r)]
    limit = req.number("limit", -1) or -1
    if limit > 0:
        recs = recs[:limit]
    now = time.time()
    resp.json(200, [summary(rt, r, now, req.flag("size")) for r in recs])


def summary(rt, rec, now: float, size: bool = False) -> dict:
    """One entry of GET /containers/json (container.Summary): Created in unix seconds, Names with
    their "/", Status as the server's text."""
    from minicontainer.cli.format import container_status
    from minicontainer.view.inspect import mounts_json, networks_json
    ports = [{"IP": p.host_ip, "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.proto}
             for p in rec.ports]
    published = {f"{p.container_port}/{p.proto}" for p in rec.ports}
    for key in rec.config.get("ExposedPorts") or {}:
        if key not in published:
            port, _, proto = key.partition("/")
            if port.isdigit():
                ports.append({"PrivatePort": int(port), "Type": proto or "tcp"})
    out = {"Id": rec.id, "Names": ["/" + rec.name], "Image": rec.image_ref, "ImageID": rec.image_id,
           "Command": " ".join(rec.command), "Created": int(parse_time(rec.created)), "Ports": ports,
           "Labels": rec.config.get("Labels") or {}, "State": rec.state, "Status": container_status(rec, now),
           "HostConfig": {"NetworkMode": rec.network_mode},
           "NetworkSettings": {"Networks": networks_json(rt, rec)}, "Mounts": mounts_json(rec.mounts)}
    if size:
        out["SizeRw"], out["SizeRootFs"] = 0, 0
    return out


@route("GET", "/containers/{ref}/top")
def top(rt, req, resp, ref: str) -> None:
    titles, rows = rt.top(ref, (req.query.get("ps_args") or "").split())
    resp.json(200, {"Titles": titles, "Processes": rows})


@route("POST", "/containers/{ref}/resize")
def resize(rt, req, resp, ref: str) -> None:
    from minicontainer.engine.streams import set_winsize
    rec = rt.get(ref)
    if not rec.running:
        raise ApiError(409, f"Container {rec.id} is not running")
    if rec.config.get("Tty"):
        set_winsize(rec.pid, req.number("h", 0) or 0, req.number("w", 0) or 0)
    resp.send(200, b"", "text/plain; charset=utf-8")

