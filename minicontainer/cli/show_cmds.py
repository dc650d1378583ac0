"""Commands that show the work: explain, run --explain / --dry-run, rm --explain."""

from __future__ import annotations

import os
import sys

from minicontainer.errors import MCError


def trace_script(rt, rec, title: str) -> str:
    from minicontainer import trace
    from minicontainer.runtime.supervisor import TRACE_FILE
    from minicontainer.show.script import render
    lines = trace.read(rt.containers.path(rec.id, TRACE_FILE))
    if not lines and not os.path.isdir(rt.containers.path(rec.id, "")):
        return f"# {title}\n# nothing to show: the container is gone (--rm removed it after its start failed)\n"
    if not lines:
        return f"# {title}\n# nothing yet: the container has not been started, so nothing was done in the kernel\n"
    return render(lines, title, script_names(rt, rec.id))


def script_names(rt, cid: str) -> dict[str, str]:
    return {rt.containers.path(cid, "").rstrip("/"): "$ctr", os.path.join(rt.root.images, "layers"): "$layers"}


def explain_script(rt, rec) -> str:
    """What was done in the kernel for a container's last start, as a replayable shell script."""
    return trace_script(rt, rec, f"what `minicontainer` did to start container {rec.name} ({rec.short_id})")


def cmd_explain(rt, opts, args) -> int:
    sys.stdout.write(explain_script(rt, rt.get(args[0])))
    return 0


def dry_run(rt, spec) -> str:
    """run --dry-run: the script a run would amount to; nothing is created, leased or applied."""
    from minicontainer.errors import DaemonError, NoSuchImage
    from minicontainer.runtime.dryrun import dry_run_lines
    from minicontainer.show.script import render
    from minicontainer.specs.refs import normalize
    normalize(spec.image)  # "invalid reference format" first, as run does
    try:
        rt.images.get(spec.image)
    except NoSuchImage:
        raise DaemonError(f"Unable to find image '{spec.image}' locally: --dry-run pulls nothing "
                          f"(minicontainer pull {spec.image} first)", 125) from None
    lines, rec = dry_run_lines(rt, spec)
    return render(lines, f"run --dry-run: what `run` would do for a container {rec.short_id} (nothing was done)",
                  script_names(rt, rec.id))


def print_run_trace(rt, rec) -> None:
    """run --explain: the steps just applied, on stderr (like `set -x`), so stdout stays Docker's."""
    sys.stderr.write(trace_script(rt, rec, f"run: container {rec.name} ({rec.short_id})"))
    sys.stderr.flush()


def teardown_lines(rt, rec) -> list[dict]:
    """What `rm` undoes, in order: the container's process, the journal reversed, its files."""
    from minicontainer.runtime.supervisor import journal_for
    lines = []
    if rec.running:
        lines.append({"why": "stop: SIGKILL its pid 1; its namespaces, and every mount in them, go with its last process",
                      "sh": f"kill -KILL {rec.pid}"})
        for step in reversed(journal_for(rt.containers, rec.id).steps()):
            lines.append({"why": f"undo: {step.why}", "sh": step.explain_undo()})
        ep = rec.extra.get("endpoint")
        if ep:
            from minicontainer.network.networks import NetworkStore
            networks = NetworkStore(rt.root)
            lease = os.path.join(networks.ipam(networks.get(ep["Network"])).dir, ep["IPAddress"])
            lines.append({"why": f"free its address {ep['IPAddress']} (a host-local IPAM lease file)", "sh": f"rm -f {lease}"})
    lines.append({"why": "its record, writable layer, log and trace",
                  "sh": f"rm -rf {rt.containers.path(rec.id, '')}".rstrip("/")})
    return lines


def print_teardown(rt, ref: str) -> None:
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


def cmd_tour(rt, opts, args) -> int:
    from minicontainer.show.tour import Tour
    return Tour(pause=not opts.yes and sys.stdin.isatty() and sys.stdout.isatty()).run()
