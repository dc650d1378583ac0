"""The network endpoints: create, list, inspect, remove, connect, disconnect, prune: the `network`
commands' Runtime calls, with `network inspect`'s JSON (view/inspect.network_json)."""

from __future__ import annotations

from minicontainer.engine.errors import ApiError
from minicontainer.engine.routes import route


def _store(rt):
    from minicontainer.network.networks import NetworkStore
    return NetworkStore(rt.root)


def _find(rt, ref: str):
    from minicontainer.errors import MCError
    try:
        return _store(rt).find(ref, for_use=False)
    except MCError:
        raise ApiError(404, f"network {ref} not found") from None


@route("POST", "/networks/create")
def create(rt, req, resp) -> None:
    from minicontainer.specs.netcreate import create_options
    body = req.json()
    name, driver = body.get("Name") or "", body.get("Driver") or "bridge"
    if not name:
        raise ApiError(400, "network name is required")
    if driver != "bridge":
        raise ApiError(404, f'plugin "{driver}" not found')
    if body.get("EnableIPv6"):
        raise ApiError(400, "IPv6 networks are not supported by minicontainer yet (EnableIPv6)")
    ipam = (body.get("IPAM") or {}).get("Config") or []
    wanted = create_options([c["Subnet"] for c in ipam if c.get("Subnet")],
                            [c["Gateway"] for c in ipam if c.get("Gateway")],
                            [c["IPRange"] for c in ipam if c.get("IPRange")],
                            [f"{k}={v}" for k, v in (body.get("Options") or {}).items()],
                            [f"{k}={v}" for k, v in (body.get("Labels") or {}).items()], bool(body.get("Internal")))
    net = _store(rt).create(name, wanted)
    resp.json(201, {"Id": net.id, "Warning": ""})


@route("GET", "/networks")
def list_networks(rt, req, resp) -> None:
    from minicontainer.cli.network_cmds import networks_matching
    from minicontainer.view.inspect import network_json
    filters = [f"{k}={v}" for k, values in req.json_filters().items() for v in values]
    running = rt.list()
    resp.json(200, [network_json(n, running) for n in networks_matching(rt, filters)])


@route("GET", "/networks/{ref}")
def inspect(rt, req, resp, ref: str) -> None:
    from minicontainer.view.inspect import network_json
    resp.json(200, network_json(_find(rt, ref), rt.list()))


@route("DELETE", "/networks/{ref}")
def remove(rt, req, resp, ref: str) -> None:
    from minicontainer.network.networks import PREDEFINED_DRIVERS, attached_to
    net = _find(rt, ref)
    if net.name in PREDEFINED_DRIVERS:
        raise ApiError(403, f"{net.name} is a pre-defined network and cannot be removed")
    _store(rt).remove(net, [r.id for r in attached_to(net, rt.list())])
    resp.send(204)


@route("POST", "/networks/prune")
def prune(rt, req, resp) -> None:
    from minicontainer.network.networks import PREDEFINED_DRIVERS, attached_to
    running, gone = rt.list(all_=True), []
    for net in _store(rt).every():
        if net.name not in PREDEFINED_DRIVERS and not attached_to(net, running):
            _store(rt).remove(net, [])
            gone.append(net.name)
    resp.json(200, {"NetworksDeleted": gone or None})


@route("POST", "/networks/{ref}/connect")
def connect(rt, req, resp, ref: str) -> None:
    from minicontainer.runtime.connect import connect as connect_container
    from minicontainer.specs.network import NetworkAttachment, check_ip, check_mac, is_user_defined
    body = req.json()
    ep = body.get("EndpointConfig") or {}
    aliases = tuple(a for a in ep.get("Aliases") or [] if a)
    if aliases and not is_user_defined(ref):
        raise ApiError(400, "network-scoped aliases are only supported for user-defined networks")
    ip = (ep.get("IPAMConfig") or {}).get("IPv4Address") or ""
    mac = ep.get("MacAddress") or ""
    asked = NetworkAttachment(ref, check_ip(ip) if ip else "", check_mac(mac) if mac else "", aliases=aliases)
    connect_container(rt, body.get("Container") or "", ref, asked)
    resp.send(200, b"", "text/plain; charset=utf-8")


@route("POST", "/networks/{ref}/disconnect")
def disconnect(rt, req, resp, ref: str) -> None:
    from minicontainer.runtime.connect import disconnect as disconnect_container
    body = req.json()
    disconnect_container(rt, body.get("Container") or "", ref, bool(body.get("Force")))
    resp.send(200, b"", "text/plain; charset=utf-8")
