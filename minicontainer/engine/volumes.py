"""The volume endpoints: create, list, inspect, remove, prune (the `volume` commands' calls)."""

from __future__ import annotations

from minicontainer.engine.routes import route


@route("POST", "/volumes/create")
def create(rt, req, resp) -> None:
    from minicontainer.cli.volume_cmds import create_volume
    body = req.json()
    vol = create_volume(rt, body.get("Name") or "", body.get("Driver") or "local", body.get("Labels") or {},
                        dict(body.get("DriverOpts") or {}))
    resp.json(201, rt.volumes.inspect(vol))


@route("GET", "/volumes")
def list_volumes(rt, req, resp) -> None:
    from minicontainer.cli.volume_cmds import volumes_matching
    filters = [f"{k}={v}" for k, values in req.json_filters().items() for v in values]
    resp.json(200, {"Volumes": [rt.volumes.inspect(v) for v in volumes_matching(rt, filters)], "Warnings": None})


@route("GET", "/volumes/{name}")
def inspect(rt, req, resp, name: str) -> None:
    resp.json(200, rt.volumes.inspect(rt.volumes.get(name)))


@route("DELETE", "/volumes/{name}")
def remove(rt, req, resp, name: str) -> None:
    from minicontainer.runtime.volumes import users_of
    rt.volumes.remove(name, users_of(rt.list(all_=True), name), req.flag("force"))
    resp.send(204)


@route("POST", "/volumes/prune")
def prune(rt, req, resp) -> None:
    from minicontainer.cli.volume_cmds import prune_volumes
    every = "true" in req.json_filters().get("all", [])
    gone, freed = prune_volumes(rt, every)
    resp.json(200, {"VolumesDeleted": gone or None, "SpaceReclaimed": freed})
