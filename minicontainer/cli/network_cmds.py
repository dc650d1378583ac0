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
    _out(_store(rt).create(args[0], opts.subnet, opts.gateway).id + "\n")
    return 0


def network_ls(rt, opts, args) -> int:
    from minicontainer.cli.format import table
    networks = _store(rt).list()
    if opts.quiet:
        _out("".join(n.id[:12] + "\n" for n in networks))
        return 0
    _out(table([["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + [[n.id[:12], n.name, "bridge", "local"] for n in networks]))
    return 0


def network_inspect(rt, opts, args) -> int:
    from minicontainer.view.inspect import network_json
    store, out = _store(rt), []
    for name in args:
        net = store.get(name)
        out.append(network_json(net, _attached(rt, net)))
    _out(json.dumps(out, indent=4) + "\n")
    return 0


def network_rm(rt, opts, args) -> int:
    store, failed = _store(rt), 0
    for name in args:
        try:
            net = store.get(name)
            done = store.remove(net, [r.id for r in _attached(rt, net)])
            if opts.explain:
                from minicontainer.show.script import render_teardown
                sys.stderr.write(render_teardown(done, f"network rm {name}"))
            _out(name + "\n")
        except MCError as exc:
            print(str(exc), file=sys.stderr)
            failed = 1
    return failed


def network_show(rt, opts, args) -> int:
    from minicontainer.cli.show_cmds import network_show
    return network_show(rt, opts, args)


def network_rules(rt, opts, args) -> int:
    from minicontainer.show.rules_view import render
    _out(render(rt, _store(rt)))
    return 0


def subcommands():
    from minicontainer.cli.commands import Command
    return [
        Command("create", "network create [OPTIONS] NETWORK", "Create a network", network_create,
                [Flag("subnet", kind="str", metavar="string", help="Subnet in CIDR format (default: a free /16 or /20)"),
                 Flag("gateway", kind="str", metavar="string", help="IPv4 Gateway for the subnet (default: its first address)"),
                 Flag("driver", "d", kind="str", default="bridge", metavar="string", help="Driver to manage the Network")],
                min_args=1, max_args=1,
                examples=["minicontainer network create lab",
                          "minicontainer network create --subnet 10.77.0.0/24 lab2",
                          "minicontainer run -d --net lab --name web busybox httpd -f -p 80"]),
        Command("ls", "network ls [OPTIONS]", "List networks", network_ls,
                [Flag("quiet", "q", help="Only display network IDs")], max_args=0, aliases=["list"],
                examples=["minicontainer network ls"]),
        Command("inspect", "network inspect NETWORK [NETWORK...]", "Display detailed information on one or more networks",
                network_inspect, min_args=1,
                examples=["minicontainer network inspect bridge"]),
        Command("rm", "network rm [OPTIONS] NETWORK [NETWORK...]", "Remove one or more networks", network_rm,
                [Flag("explain", help="Print what the removal undoes, as shell commands, on stderr")], min_args=1,
                aliases=["remove"], examples=["minicontainer network rm --explain lab"]),
        Command("show", "network show [OPTIONS] [NETWORK]",
                "Draw the networks: bridges, veth pairs, addresses, published ports and the NAT between them",
                network_show,
                [Flag("format", kind="str", default="text", metavar="string", help="Output format: text or svg"),
                 Flag("output", "o", kind="str", metavar="string", help="Write to a file instead of stdout")],
                max_args=1, examples=["minicontainer network show", "minicontainer network show --format svg -o net.svg"],
                repairs_rules=False),
        Command("rules", "network rules", "Print our iptables rules as the kernel has them, each annotated",
                network_rules, max_args=0, examples=["minicontainer network rules"], repairs_rules=False),
    ]
