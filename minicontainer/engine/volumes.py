"""The volume endpoints: create, list, inspect, remove, prune (the `volume` commands' calls)."""

from __future__ import annotations

import os

from minicontainer.engine.errors import ApiError
from minicontainer.engine.routes import route


@route("POST", "/volumes/create")
def create(ctx, req, resp) -> None:
    from minicontainer.specs.volumes import check_volume_name, check_volume_options
    rt = ctx.runtime()
    body = req.json()
    name = body.get("Name") or ""
    driver = body.get("Driver") or "local"
    if driver != "local":
        raise ApiError(404, f'create {name}: error looking up volume plugin {driver}: plugin "{driver}" not found')
    options = dict(body.get("DriverOpts") or {})
    given = bool(name)
    name = name or os.urandom(32).hex()
    check_volume_name(name)
    check_volume_options(name, options)
    vol, _ = rt.volumes.ensure(name, anonymous=not given, labels=body.get("Labels") or {}, options=options)
    resp.json(201, rt.volumes.inspect(vol))


@route("GET", "/volumes")
def list_volumes(ctx, req, resp) -> None:
    from minicontainer.cli.volume_cmds import volumes_matching
    rt = ctx.runtime()
    filters = [f"{k}={v}" for k, values in req.json_filters().items() for v in values]
    resp.json(200, {"Volumes": [rt.volumes.inspect(v) for v in volumes_matching(rt, filters)], "Warnings": None})


@route("GET", "/volumes/{name}")
def inspect(ctx, req, resp, name: str) -> None:
    rt = ctx.runtime()
    resp.json(200, rt.volumes.inspect(rt.volumes.get(name)))


@route("DELETE", "/volumes/{name}")
def remove(ctx, req, resp, name: str) -> None:
    from minicontainer.runtime.volumes import users_of
    rt = ctx.runtime()
    rt.volumes.remove(name, users_of(rt.list(all_=True), name), req.flag("force"))
    resp.send(204)


@route("POST", "/volumes/prune")
def prune(ctx, req, resp) -> None:
    from minicontainer.images.layers import dir_size
    from minicontainer.runtime.volumes import users_of
    rt = ctx.runtime()
    every = "all=true" in [f"{k}={v}" for k, vs in req.json_filters().items() for v in vs]
    containers, gone, freed = rt.list(all_=True), [], 0
    for vol in rt.volumes.list():
        if (vol.anonymous or every) and not users_of(containers, vol.name):
            freed += dir_size(rt.volumes.data(vol.name))
            rt.volumes.remove(vol.name, [])
            gone.append(vol.name)
    resp.json(200, {"VolumesDeleted": gone or None, "SpaceReclaimed": freed})
