"""Commands that show the work: explain, run --explain / --dry-run, rm --explain."""

from __future__ import annotations

import sys

from minicontainer.errors import MCError


def cmd_explain(rt, opts, args) -> int:
    from minicontainer.show.explain import explain_script
    sys.stdout.write(explain_script(rt, rt.get(args[0])))
    return 0


def print_run_trace(rt, rec) -> None:
    """run --explain: the steps just applied, on stderr (like `set -x`), so stdout stays Docker's."""
    from minicontainer.show.explain import trace_script
    sys.stderr.write(trace_script(rt, rec, f"run: container {rec.name} ({rec.short_id})"))
    sys.stderr.flush()


def print_teardown(rt, ref: str) -> None:
    from minicontainer.show.explain import teardown_lines
    from minicontainer.show.script import render_teardown
    try:
        rec = rt.get(ref)
    except MCError:
        return  # rm itself reports it
    sys.stderr.write(render_teardown(teardown_lines(rt, rec), f"rm: container {rec.name} ({rec.short_id})"))
    sys.stderr.flush()


def network_show(rt, opts, names: list[str]) -> int:
    """network show: the topology, as text or (--format svg) a picture."""
    from minicontainer.network.networks import NetworkStore
    if opts.format not in ("text", "svg"):
        raise MCError(f'unknown format "{opts.format}": text or svg', 1)
    if names:
        NetworkStore(rt.root).peek(names[0])  # "network X not found" (and no default network made just to show it)
    from minicontainer.show import svg, topotext
    from minicontainer.show.topology import gather
    topo = gather(rt, names[0] if names else None)
    text = svg.render(topo) if opts.format == "svg" else topotext.render(topo)
    if opts.output:
        with open(opts.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_conntrack(rt, opts, args) -> int:
    """conntrack: our containers' tracked flows, NAT spelled out."""
    from minicontainer.cli.format import table
    from minicontainer.show.conntrack_view import rows
    found = rows(rt, args[0] if args else None, opts.nat)
    sys.stdout.write(table([["CONTAINER", "PROTO", "STATE", "FLOW"], *found]))
    return 0


def cmd_trace(rt, opts, args) -> int:
    """trace: follow one flow's packets through the nf_tables ruleset (runtime/packet_trace.py)."""
    from minicontainer.network.backends import LEGACY
    from minicontainer.network.networks import NetworkStore
    from minicontainer.runtime.packet_trace import follow, target
    from minicontainer.show.rules_view import expected
    from minicontainer.show.trace_view import nft_notes, render
    if len(opts.to) > 1:
        raise MCError(f"trace follows one flow: one --to (got {', '.join(opts.to)})", 125)
    wanted = target(rt, opts.to[0] if opts.to else "", getattr(opts, "from"), opts.proto)
    if opts.count < 1 or opts.timeout < 1:
        raise MCError("--count and --timeout must be at least 1", 125)
    networks = NetworkStore(rt.root)
    if LEGACY in {n.firewall_backend for n in networks.list()}:
        print("minicontainer: note: our rules are in the legacy iptables backend, which nf_tables tracing "
              "cannot see: the trace shows the nf_tables chains the packets meet, not ours (a network made "
              "with --iptables-backend nft can be traced whole; `network rules --counters` counts either)",
              file=sys.stderr)
    print(f"tracing {wanted.said}: up to {opts.count} packets, {opts.timeout} s"
          + (f", probe: {' '.join(args)}" if args else ", waiting for your traffic"), file=sys.stderr, flush=True)
    traced = follow(rt.root.lib, wanted.match, opts.count, opts.timeout, args or None)
    if not traced.packets:
        raise MCError(f"no packet of this flow was seen in {opts.timeout} s (nothing was left behind)", 1)
    sys.stdout.write(render(traced.packets, traced.marking_table, nft_notes(expected(rt, networks))))
    return 0


def capture_argv(rec, host_side: bool, network: str, count: int, expression: list[str]) -> list[str]:
    """tcpdump on the container's interface inside its namespace, or on its veth's host end."""
    endpoints = [ep for ep in rec.endpoints if not network or ep.network == network]
    if not endpoints:
        where = f"on network {network}" if network else f"of its own (--network {rec.network_mode})"
        raise MCError(f"Error response from daemon: container {rec.name} has no interface {where} to capture on", 1)
    ep = endpoints[0]
    options = ["-n", "-l"] + (["-c", str(count)] if count else [])
    if host_side:
        return ["tcpdump", *options, "-i", ep.host_if, *expression]
    return ["nsenter", f"--net=/proc/{rec.pid}/ns/net", "tcpdump", *options, "-i", ep.ifname, *expression]


def cmd_capture(rt, opts, args) -> int:
    """capture: tcpdump where the container's packets pass, as the command it runs."""
    import os
    import shlex
    import shutil
    rec = rt.get(args[0])
    if not rec.running:
        raise MCError(f"Error response from daemon: container {rec.name} is not running", 1)
    if shutil.which("tcpdump") is None:
        raise MCError("capture needs tcpdump (scripts/setup installs it; apt-get install tcpdump)", 1)
    argv = capture_argv(rec, opts.host_side, opts.network, opts.count, args[1:])
    print("+ " + shlex.join(argv), file=sys.stderr, flush=True)
    os.execvp(argv[0], argv)
    return 1  # not reached


def cmd_tour(rt, opts, args) -> int:
    from minicontainer.show.tour import Tour
    return Tour(pause=not opts.yes and sys.stdin.isatty() and sys.stdout.isatty()).run()
