"""`network create | ls | inspect | rm | show | rules`, one handler per subcommand
(the default bridge network is called `bridge`)."""

from __future__ import annotations

import json
import sys

from minicontainer.cli.flags import Flag
from minicontainer.errors import DaemonError, MCError


def _out(text: str) -> None:
    sys.stdout.write(text)


def _store(rt):
    from minicontainer.network.networks import NetworkStore
    return NetworkStore(rt.root)


def _attached(rt, net):
    from minicontainer.network.networks import attached_to
    return attached_to(net, rt.list())


def network_create(rt, opts, args) -> int:
    if opts.driver != "bridge":
        raise DaemonError(f"plugin \"{opts.driver}\" not found", 1)
    if opts.ipv6:
        raise MCError("IPv6 networks are not supported by minicontainer yet (--ipv6)", 1)
    from minicontainer.specs.netcreate import create_options
    wanted = create_options(opts.subnet, opts.gateway, opts.ip_range, opts.opt, opts.label, opts.internal)
    _out(_store(rt).create(args[0], wanted).id + "\n")
    return 0


def networks_matching(rt, filters: list[str]) -> list:
    """The networks `network ls --filter` keeps (the Engine API's GET /networks filters too)."""
    from minicontainer.network.networks import PREDEFINED_DRIVERS
    from minicontainer.specs.filters import label_matches, parse_filters
    wanted = parse_filters(filters, {"driver", "id", "label", "name", "scope", "type"})
    checks = {"driver": lambda n, v: n.driver == v, "id": lambda n, v: n.id.startswith(v),
              "label": lambda n, v: label_matches(n.labels or {}, v), "name": lambda n, v: v in n.name,
              "scope": lambda n, v: v == "local",
              "type": lambda n, v: (n.name in PREDEFINED_DRIVERS) == (v == "builtin")}
    if any(v not in ("custom", "builtin") for v in wanted.get("type", [])):
        raise DaemonError(f"Invalid filter 'type'='{wanted['type'][0]}'", 1)
    return [n for n in _store(rt).every()
            if all(any(checks[key](n, v) for v in values) for key, values in wanted.items())]


def network_ls(rt, opts, args) -> int:
    networks = networks_matching(rt, opts.filter)
    if opts.quiet:
        _out("".join(n.id[:12] + "\n" for n in networks))
        return 0
    from minicontainer.cli.format import formatted
    rows = [{"ID": n.id[:12], "Name": n.name, "Driver": n.driver, "Scope": "local", "IPv6": "false",
             "Internal": "true" if n.internal else "false", "Labels": ",".join(f"{k}={v}" for k, v in (n.labels or {}).items()),
             "CreatedAt": n.created} for n in networks]
    headers = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
               "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
    _out(formatted(opts.format or "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows, headers))
    return 0


def network_inspect(rt, opts, args) -> int:
    """Docker prints the networks it found (`[]` if none) and an error line for each it did not."""
    from minicontainer.view.inspect import network_json
    store, out, failed = _store(rt), [], 0
    running = rt.list()
    for ref in args:
        try:
            net = store.find(ref, for_use=False)
        except MCError:
            print(f"Error: No such network: {ref}", file=sys.stderr)
            failed = 1
            continue
        out.append(network_json(net, running))
    if opts.format:
        from minicontainer.cli.format import render_template
        _out("".join(render_template(opts.format, item) + "\n" for item in out))
    else:
        _out(json.dumps(out, indent=4) + "\n")
    return failed


def network_rm(rt, opts, args) -> int:
    from minicontainer.network.networks import DEFAULT_NETWORK, PREDEFINED_DRIVERS
    store, failed = _store(rt), 0

    def refuse_predefined(name: str) -> None:
        if name in PREDEFINED_DRIVERS and not (opts.predefined and name == DEFAULT_NETWORK):
            raise DaemonError(f"{name} is a pre-defined network and cannot be removed", 1)
    for name in args:
        try:
            refuse_predefined(name)  # by its name: before find() would make the default network's record
            try:
                net = store.find(name, for_use=False)
            except MCError as exc:
                if opts.force and str(exc).endswith("not found"):
                    continue  # -f: a network that is not there is no error
                raise
            refuse_predefined(net.name)  # by its id
            done = store.remove(net, [r.id for r in _attached(rt, net)])
            if opts.explain:
                from minicontainer.show.script import render_teardown
                sys.stderr.write(render_teardown(done, f"network rm {name}"))
            _out(name + "\n")
        except MCError as exc:
            print(str(exc), file=sys.stderr)
            failed = 1
    return failed


def network_connect(rt, opts, args) -> int:
    from minicontainer.runtime.connect import connect
    from minicontainer.specs.network import NetworkAttachment, check_ip, is_user_defined
    if opts.alias and not is_user_defined(args[0]):
        raise DaemonError("network-scoped aliases are only supported for user-defined networks", 1)
    asked = NetworkAttachment(args[0], check_ip(opts.ip) if opts.ip else "", aliases=tuple(opts.alias),
                              gw_priority=opts.gw_priority)
    done = _as_cli_error(lambda: connect(rt, args[1], args[0], asked, dry_run=opts.dry_run))
    _explain(opts, done, f"network connect {args[0]} {args[1]}")
    return 0


def network_disconnect(rt, opts, args) -> int:
    from minicontainer.runtime.connect import disconnect
    done = _as_cli_error(lambda: disconnect(rt, args[1], args[0], opts.force, dry_run=opts.dry_run))
    _explain(opts, done, f"network disconnect {args[0]} {args[1]}")
    return 0


def _as_cli_error(action):
    """Run a daemon-side action; like the docker CLI's network commands, any refusal exits 1."""
    try:
        return action()
    except MCError as exc:
        exc.exit_code = 1
        raise


def _explain(opts, done: list[dict], title: str) -> None:
    """--explain: what was done, on stderr; --dry-run: what would be done, on stdout (as run's)."""
    from minicontainer.show.script import render_teardown
    if opts.dry_run:
        _out(render_teardown(done, f"{title} --dry-run: what it would do (nothing was done)"))
    elif opts.explain and done:
        sys.stderr.write(render_teardown(done, title))


def network_show(rt, opts, args) -> int:
    from minicontainer.cli.show_cmds import network_show
    return network_show(rt, opts, args)


def network_rules(rt, opts, args) -> int:
    from minicontainer.show.rules_view import render, zero
    if opts.zero:
        for command in zero(rt, _store(rt)):
            print(command, file=sys.stderr)
    _out(render(rt, _store(rt), counters=opts.counters or opts.zero))
    return 0


def subcommands():
    from minicontainer.cli.commands import Command
    return [
        Command("create", "network create [OPTIONS] NETWORK", "Create a network", network_create,
                [Flag("subnet", kind="list", metavar="strings", help="Subnet in CIDR format (default: a free /16 or /20)"),
                 Flag("gateway", kind="list", metavar="strings", help="IPv4 Gateway for the subnet (default: its first address)"),
                 Flag("ip-range", kind="list", metavar="strings", help="Allocate container ip from a sub-range"),
                 Flag("driver", "d", kind="str", default="bridge", metavar="string", help="Driver to manage the Network"),
                 Flag("internal", help="Restrict external access to the network"),
                 Flag("opt", "o", kind="list", metavar="map", help="Set driver specific options"),
                 Flag("label", kind="list", metavar="list", help="Set metadata on a network"),
                 Flag("ipv6", help="Enable or disable IPv6 networking (not supported yet)")],
                min_args=1, max_args=1,
                examples=["minicontainer network create lab",
                          "minicontainer network create --subnet 10.77.0.0/24 lab2",
                          "minicontainer network create --internal -o com.docker.network.bridge.enable_icc=false lab3",
                          "minicontainer run -d --net lab --name web busybox httpd -f -p 80"]),
        Command("ls", "network ls [OPTIONS]", "List networks", network_ls,
                [Flag("quiet", "q", help="Only display network IDs"),
                 Flag("filter", "f", kind="list", metavar="filter", help="Provide filter values (e.g. 'driver=bridge')"),
                 Flag("format", kind="str", metavar="string", help="Format output using a custom template")],
                max_args=0, aliases=["list"], examples=["minicontainer network ls", "minicontainer network ls -f type=custom"]),
        Command("inspect", "network inspect [OPTIONS] NETWORK [NETWORK...]",
                "Display detailed information on one or more networks", network_inspect,
                [Flag("format", "f", kind="str", metavar="string", help="Format output using a custom template")],
                min_args=1, examples=["minicontainer network inspect bridge"]),
        Command("rm", "network rm [OPTIONS] NETWORK [NETWORK...]", "Remove one or more networks", network_rm,
                [Flag("force", "f", help="Do not error if the network does not exist"),
                 Flag("explain", help="Print what the removal undoes, as shell commands, on stderr"),
                 Flag("predefined", help="Also take down the predefined bridge network: its bridge, rules and "
                                         "address pool (made again on next use; Docker's docker0 goes with its daemon)")],
                min_args=1, aliases=["remove"],
                examples=["minicontainer network rm --explain lab", "minicontainer network rm --predefined bridge"]),
        Command("connect", "network connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
                network_connect,
                [Flag("ip", kind="str", metavar="string", help="IPv4 address (e.g., \"172.30.100.104\")"),
                 Flag("alias", kind="list", metavar="strings", help="Add network-scoped alias for the container"),
                 Flag("gw-priority", kind="int", metavar="int",
                      help="Highest gw-priority provides the default gateway. Accepts positive and negative values."),
                 Flag("explain", help="Print what the connect did, as shell commands, on stderr"),
                 Flag("dry-run", help="Print what the connect would do, as shell commands, and change nothing")],
                min_args=2, max_args=2,
                examples=["minicontainer network connect lab web", "minicontainer network connect --ip 10.77.0.9 lab2 web",
                          "minicontainer network connect --dry-run lab web"]),
        Command("disconnect", "network disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
                network_disconnect,
                [Flag("force", "f", help="Force the container to disconnect from a network"),
                 Flag("explain", help="Print what the disconnect undid, as shell commands, on stderr"),
                 Flag("dry-run", help="Print what the disconnect would undo, as shell commands, and change nothing")],
                min_args=2, max_args=2,
                examples=["minicontainer network disconnect lab web", "minicontainer network disconnect --dry-run lab web"]),
        Command("show", "network show [OPTIONS] [NETWORK]",
                "Draw the networks: bridges, veth pairs, addresses, published ports and the NAT between them",
                network_show,
                [Flag("format", kind="str", default="text", metavar="string", help="Output format: text or svg"),
                 Flag("output", "o", kind="str", metavar="string", help="Write to a file instead of stdout")],
                max_args=1, examples=["minicontainer network show", "minicontainer network show --format svg -o net.svg"],
                repairs_rules=False),
        Command("rules", "network rules", "Print our iptables rules as the kernel has them, each annotated",
                network_rules, [Flag("counters", "c", help="Show each rule's packet and byte counters"),
                                Flag("zero", "z", help="Zero the counters of our rules (only ours), then show them")],
                max_args=0, examples=["minicontainer network rules", "minicontainer network rules --counters",
                                      "minicontainer network rules --zero   # then make traffic, and look again"],
                repairs_rules=False),
    ]
