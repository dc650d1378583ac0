"""`network connect` and `network disconnect`: a container's endpoints changed after it was created.

A stopped container only has its record changed (the network is joined at its next start). A
running one is changed live, under its lock, through its journal, in this order:

    connect      the network's first use (if its bridge is down), a lease (the command's, then the
                 supervisor's), the veth (the lowest free ethN), the address, /etc/hosts, the default
                 route and the published ports if the network now sorts first; at its first
                 user-defined network, the embedded DNS server (the supervisor starts it on request)
                 and resolv.conf
    disconnect   the endpoint's veth undone (its address and routes go with it), its lease freed,
                 /etc/hosts, then the default route and the published ports if they were on it

Before touching the host the change is written into the record (`changing`: who, what, which
endpoint). If the command dies half way, the next command's recover() finishes it the safe way: a
connect is rolled back, a disconnect carried through (settle_interrupted).
"""

from __future__ import annotations

import dataclasses
import os

from minicontainer.errors import DaemonError
from minicontainer.faults import checkpoint
from minicontainer.kernel import proc
from minicontainer.kernel.netlink import BindNetns
from minicontainer.network.attach import (
    attach_steps,
    endpoint,
    gateway_endpoint,
    next_ifname,
    release_lines,
    route_steps,
    sandbox_steps,
    veth_of,
)
from minicontainer.network.modes import HostMode, check_attachment, kind_of
from minicontainer.network.networks import PREDEFINED_DRIVERS, NetworkStore
from minicontainer.plan import Step
from minicontainer.specs.network import NetworkAttachment
from minicontainer.store.containers import ContainerRecord
from minicontainer.store.records import Endpoint


def _explained(steps: list[Step]) -> list[dict]:
    return [{"why": s.why, "sh": s.explain()} for s in steps]


def _undone(steps: list[Step]) -> list[dict]:
    return [{"why": f"undo: {s.why}", "sh": s.explain_undo()} for s in steps]


def _pid_line(rec: ContainerRecord) -> dict:
    return {"why": "the container's process", "sh": f"pid={rec.pid}"}


STOPPED = {"why": "the container is not running: only its record changes (the network is joined, or left, "
                  "at its next start)", "sh": "# (no command)"}


def connect(rt, ref: str, network: str, asked: NetworkAttachment, dry_run: bool = False) -> list[dict]:
    """Connect the container to the network; returns what was done on the host (why, sh) for
    --explain, or with dry_run what would be done (nothing is leased, recorded or applied)."""
    networks = NetworkStore(rt.root)
    rec = rt.get(ref)
    mode = rt.network_mode(rec.network_mode, look_only=dry_run)
    found = None if network in PREDEFINED_DRIVERS else networks.find(network)
    refusal = mode.join_refusal(found.name if found else network)  # before find() makes the default's record
    if refusal:
        raise DaemonError(refusal)
    net = found or networks.find(network, look_only=dry_run)
    asked = dataclasses.replace(asked, network=net.name)
    check_attachment(asked, net)
    store = rt.containers
    with store.lock(rec.id):
        rec = store.load(rec.id)
        if any(a.network == net.name for a in rec.networks):
            if rec.running:
                raise DaemonError(f"endpoint with name {rec.name} already exists in network {net.name}")
            return []  # Docker: a stopped container's duplicate connect changes nothing
        if dry_run:
            return _connect_plan(rt, networks, mode, rec, net, asked) if rec.running else [STOPPED]
        if not rec.running:
            rec.networks = [*rec.networks, asked]
            store.save(rec)
            return []
        done = _connect_live(rt, networks, mode, rec, net, asked)
        try:
            done += _first_names(rt, rec)  # connected already: a failure here is reported, not rolled back
        finally:
            _traced(store, rec, f"network connect {net.name}", done)
    return done


def _wiring(store, rec: ContainerRecord, ep: Endpoint, mtu: int) -> list[Step]:
    """The new endpoint's veth and address, and the /run/netns name if it had no network left."""
    has_sandbox = any(isinstance(s, BindNetns) for s in store.journal(rec.id).steps())
    return attach_steps(ep, rec.pid, mtu) + ([] if has_sandbox else sandbox_steps(rec.pid, rec.id))


def _connect_plan(rt, networks: NetworkStore, mode, rec: ContainerRecord, net, asked: NetworkAttachment) -> list[dict]:
    """connect --dry-run: the same steps, with the address the lease would give now."""
    ip = networks.ipam(net).next_free(asked.ip)
    ep = endpoint(net, ip, rec.id, asked, ifname=next_ifname(rec.endpoints))
    lease = {"why": f"lease {ip} on {net.name}",
             "sh": f"# (no command: the runtime writes a lease file, {os.path.join(networks.ipam(net).dir, ip)})"}
    return ([_pid_line(rec), *_explained(mode.up_steps_of(net.name)), lease,
             *_explained(_wiring(rt.containers, rec, ep, net.mtu))]
            + _gateway_move(rt, mode, rec, rec.endpoints + [ep]).lines() + _names_plan(rt, mode, rec, asked))


def _names_plan(rt, mode, rec: ContainerRecord, asked: NetworkAttachment) -> list[dict]:
    """connect --dry-run: the embedded DNS server _first_names() would have the supervisor start."""
    from minicontainer.network.embedded_dns import dns_server_of
    if dns_server_of(rt.containers.journal(rec.id)):
        return []
    return _explained(mode.dns_steps(dataclasses.replace(rec, networks=[*rec.networks, asked]), rec.pid))


def _connect_live(rt, networks: NetworkStore, mode, rec: ContainerRecord, net, asked: NetworkAttachment) -> list[dict]:
    store = rt.containers
    done: list[dict] = [_pid_line(rec)]
    up = mode.up_steps_of(net.name)
    networks.kernel(net).bring_up(up)
    done += _explained(up)
    ipam = networks.ipam(net)
    ip = ipam.allocate(rec.id, asked.ip)  # held by this command until the change is recorded: a crash frees it
    checkpoint("connect: leased")
    ep = endpoint(net, ip, rec.id, asked, ifname=next_ifname(rec.endpoints))
    try:
        _begin(store, rec, "connect", ep)
        sup = rec.supervisor or {}
        ipam.hand_over(ip, rec.id, (sup["pid"], sup["start"]))  # now the container's, for as long as it runs
        steps = _wiring(store, rec, ep, net.mtu)
        store.journal(rec.id).apply(steps)
        checkpoint("connect: endpoint wired")
        done += _explained(steps)
        done += _follow_gateway(rt, mode, rec, rec.endpoints + [ep])
    except BaseException:
        store.journal(rec.id).undo(only=veth_of(ep))
        ipam.release(ip, rec.id)
        _follow_gateway(rt, mode, rec, rec.endpoints)
        _end(store, rec)
        raise
    rec.endpoints = rec.endpoints + [ep]
    rec.networks = [*rec.networks, asked]
    _write_hosts(rt, rec)
    _end(store, rec)
    return done


def _first_names(rt, rec: ContainerRecord) -> list[dict]:
    """Its first user-defined network: the supervisor starts the embedded DNS server (only it lives
    as long as the container) and resolv.conf now names 127.0.0.11, as Docker's rebuildDNS does."""
    from minicontainer.network.embedded_dns import dns_server_of
    from minicontainer.runtime.etcfiles import resolv_conf
    from minicontainer.specs.network import is_user_defined
    if not any(is_user_defined(a.network) for a in rec.networks) or dns_server_of(rt.containers.journal(rec.id)):
        return []
    from minicontainer.network.control import request
    lines = request(rt.containers.dir(rec.id), "dns")["lines"]
    checkpoint("connect: embedded DNS started")
    with open(rt.containers.path(rec.id, "resolv.conf"), "w") as f:  # in place: it is bind-mounted
        f.write(resolv_conf(rec, host_files=False).text)
    return lines + [{"why": "its /etc/resolv.conf now names the embedded DNS server",
                     "sh": "# (rewritten in place: nameserver 127.0.0.11)"}]


def disconnect(rt, ref: str, network: str, force: bool = False, dry_run: bool = False) -> list[dict]:
    """Disconnect the container from the network; returns what was undone (why, sh) for --explain,
    or with dry_run what would be undone (nothing is)."""
    networks = NetworkStore(rt.root)
    rec = rt.get(ref)
    try:
        name = network if network in PREDEFINED_DRIVERS else networks.find(network).name
    except DaemonError:
        if not force:
            raise
        name = network  # -f: the network may be gone already
    if name == "host" and kind_of(rec.network_mode) is HostMode:
        raise DaemonError("cannot disconnect container from host network - container was created in host network mode")
    store = rt.containers
    with store.lock(rec.id):
        rec = store.load(rec.id)
        if not any(a.network == name for a in rec.networks):
            raise DaemonError(f"container {rec.id} is not connected to {'network' if rec.running else 'the network'} "
                              f"{name}")
        ep = rec.endpoint_on(name)
        if dry_run:
            return _disconnect_plan(rt, networks, rec, ep) if rec.running and ep else [STOPPED]
        if not rec.running or ep is None:
            rec.networks = [a for a in rec.networks if a.network != name]
            store.save(rec)
            return []
        _begin(store, rec, "disconnect", ep)
        done = _disconnect_live(rt, networks, rec, ep)
        _traced(store, rec, f"network disconnect {name}", done)
    return done


def _disconnect_plan(rt, networks: NetworkStore, rec: ContainerRecord, ep: Endpoint) -> list[dict]:
    """disconnect --dry-run: what the disconnect would undo and redo."""
    mode = rt.network_mode(rec.network_mode, look_only=True)
    undone = [s for s in rt.containers.journal(rec.id).steps() if veth_of(ep)(s)]
    rest = [e for e in rec.endpoints if e.endpoint_id != ep.endpoint_id]
    return [_pid_line(rec), *_undone(undone), *release_lines(networks, [ep]), *_gateway_move(rt, mode, rec, rest).lines()]


def _traced(store, rec: ContainerRecord, change: str, done: list[dict]) -> None:
    """Into the container's trace, after its start: `explain CONTAINER` shows (and replays) it too."""
    from minicontainer import trace
    lines = [{"phase": "changed", "change": change, **d} for d in done if not d["sh"].startswith("pid=")]
    trace.append(store.trace_path(rec.id), lines)


def _disconnect_live(rt, networks: NetworkStore, rec: ContainerRecord, ep: Endpoint) -> list[dict]:
    store, mode = rt.containers, rt.network_mode(rec.network_mode)
    journal = store.journal(rec.id)
    undone = [s for s in journal.steps() if veth_of(ep)(s)]
    errors = journal.undo(only=veth_of(ep))
    checkpoint("disconnect: endpoint undone")
    freed = release_lines(networks, [ep])
    net = networks.load(ep.network)
    if net is not None:
        networks.ipam(net).release(ep.ip, rec.id)
    rest = [e for e in rec.endpoints if e.endpoint_id != ep.endpoint_id]
    done = [_pid_line(rec), *_undone(undone), *freed, *_follow_gateway(rt, mode, rec, rest)]
    rec.endpoints = rest
    rec.networks = [a for a in rec.networks if a.network != ep.network]
    rec.teardown_errors = errors
    _write_hosts(rt, rec)
    _end(store, rec)
    return done


@dataclasses.dataclass
class GatewayMove:
    """What a change of endpoints does to the default route and the published ports."""

    routes: list[Step]          # the default route via the gateway endpoint (or none)
    stale: list[Step]           # journaled port steps to undo: on another address, or one half gone
    ports: list[Step]           # the port steps to apply on the gateway endpoint
    moved: bool                 # the ports change at all (else stale and ports are empty)

    def lines(self) -> list[dict]:
        return _explained(self.routes) + _undone(self.stale) + _explained(self.ports)


def _gateway_move(rt, mode, rec: ContainerRecord, endpoints: list[Endpoint]) -> GatewayMove:
    """Plans the move, touching nothing. The ports keep their host ports; a port holder of
    --userland-proxy=false does not depend on the address and stays."""
    routes = route_steps(rec.pid, endpoints)
    gw = gateway_endpoint(endpoints)
    current = [s for s in rt.containers.journal(rec.id).steps() if _moves(s)]
    target = gw.ip if gw is not None and rec.port_bindings else ""
    steps = [s for s in mode.port_steps(rec, endpoints, bound=rec.ports) if _moves(s)] if target else []
    if all(map(_serving, current)) and sorted(map(_what, current)) == sorted(map(_what, steps)):
        return GatewayMove(routes, [], [], False)  # every port step is there, on the right address
    return GatewayMove(routes, current, steps, True)


def _follow_gateway(rt, mode, rec: ContainerRecord, endpoints: list[Endpoint]) -> list[dict]:
    """After a change of endpoints: apply _gateway_move(), and update the ports in the record."""
    from minicontainer.network.ports import published
    move = _gateway_move(rt, mode, rec, endpoints)
    for step in move.routes:
        step.do()
    if not move.moved:
        return move.lines()
    journal = rt.containers.journal(rec.id)
    journal.undo(only=_moves)
    if not move.ports:
        rec.ports = []  # no network left to publish on
        return move.lines()
    journal.apply(move.ports)
    target = gateway_endpoint(endpoints).ip
    fresh = {(p.proto, p.host_ip, p.host_port): p for p in published(move.ports)}
    rec.ports = [fresh.get((p.proto, p.host_ip, p.host_port), dataclasses.replace(p, container_ip=target))
                 for p in rec.ports] or published(move.ports)
    return move.lines()


def _what(step) -> tuple:
    """A port step's identity: what it binds or rules and where it sends it (not its pid)."""
    return (type(step).__name__, step.proto, step.host_ip, step.host_port, step.container_ip, step.container_port)


def _serving(step) -> bool:
    """A journaled proxy's supervisor still serves it; other port steps are checked by the rule
    repair of every command."""
    return type(step).__name__ != "StartProxy" or proc.is_alive(step.pid, step.start)


def _moves(step: Step) -> bool:
    """The journaled port steps that depend on the container's address (a port holder does not)."""
    from minicontainer.network.ports import is_port_step
    return is_port_step(step) and type(step).__name__ != "HoldPort"


def _write_hosts(rt, rec: ContainerRecord) -> None:
    """Its /etc/hosts, rewritten in place (it is bind-mounted into the container: a rename would not show)."""
    from minicontainer.runtime.etcfiles import extra_hosts, hosts
    text = hosts([ep.ip for ep in rec.endpoints], rec.config["Hostname"], rec.config.get("Domainname", ""),
                 extra_hosts(rt, rec, strict=False))
    with open(rt.containers.path(rec.id, "hosts"), "w") as f:
        f.write(text)


def _begin(store, rec: ContainerRecord, op: str, ep: Endpoint) -> None:
    me = os.getpid()
    rec.changing = {"op": op, "pid": me, "start": proc.start_ticks(me), "endpoint": dataclasses.asdict(ep)}
    store.save(rec)
    checkpoint(f"{op}: recorded")


def _end(store, rec: ContainerRecord) -> None:
    rec.changing = None
    store.save(rec)
    checkpoint("network change recorded")


def settle_interrupted(rt, rec: ContainerRecord) -> ContainerRecord:
    """A connect or disconnect whose command died half way (rec.changing names a dead process):
    roll the connect back, carry the disconnect through. Called by recover(), under no lock."""
    change = rec.changing
    if not change or proc.is_alive(change["pid"], change["start"]):
        return rec
    store, networks = rt.containers, NetworkStore(rt.root)
    with store.lock(rec.id):
        rec = store.load(rec.id)
        change = rec.changing
        if not change or proc.is_alive(change["pid"], change["start"]):
            return rec
        ep = Endpoint.from_json(change["endpoint"])
        if rec.running:
            store.journal(rec.id).undo(only=veth_of(ep))
        net = networks.load(ep.network)
        if net is not None:
            networks.ipam(net).release(ep.ip, rec.id)
        rec.endpoints = [e for e in rec.endpoints if e.endpoint_id != ep.endpoint_id]
        if change["op"] == "disconnect":
            rec.networks = [a for a in rec.networks if a.network != ep.network]
        if rec.running:
            _follow_gateway(rt, rt.network_mode(rec.network_mode), rec, rec.endpoints)
            _write_hosts(rt, rec)
        _end(store, rec)
    return rec
