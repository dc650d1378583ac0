"""The work shown as shell scripts: a container's last start (its trace), the start a run would do
(--dry-run, the same start plan), and what a removal undoes. Used by the CLI and the Python API."""

from __future__ import annotations

import os


def trace_script(rt, rec, title: str) -> str:
    from minicontainer import trace
    from minicontainer.show.script import render
    lines = trace.read(rt.containers.trace_path(rec.id))
    if not lines and not os.path.isdir(rt.containers.path(rec.id, "")):
        return f"# {title}\n# nothing to show: the container is gone (--rm removed it after its start failed)\n"
    if not lines:
        return f"# {title}\n# nothing yet: the container has not been started, so nothing was done in the kernel\n"
    return render(lines, title, script_names(rt, rec.id, rec.host_config))


def script_names(rt, cid: str, host_config: dict | None = None) -> dict[str, str]:
    """The long paths a script names by variable: the container's state directory, the image
    layers, its cgroup path below each hierarchy's root."""
    names = {rt.containers.path(cid, "").rstrip("/"): "$ctr", os.path.join(rt.root.images, "layers"): "$layers"}
    if host_config is not None:
        from minicontainer.runtime.cgroup import cgroup_path
        names[cgroup_path(host_config, cid)] = "$cg"
    return names


def explain_script(rt, rec) -> str:
    """What was done in the kernel for a container's last start, as a replayable shell script."""
    return trace_script(rt, rec, f"what `minicontainer` did to start container {rec.name} ({rec.short_id})")


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
                  script_names(rt, rec.id, rec.host_config))


def teardown_lines(rt, rec) -> list[dict]:
    """What `rm` undoes, in order: the container's process, the journal reversed, its files."""
    lines = []
    if rec.running:
        import minicontainer.network.journaled  # noqa: F401 - every journaled Step class, for old journals
        lines.append({"why": "stop: SIGKILL its pid 1; its namespaces, and every mount in them, go with its last process",
                      "sh": f"kill -KILL {rec.pid}"})
        for step in reversed(rt.containers.journal(rec.id).steps()):
            lines.append({"why": f"undo: {step.why}", "sh": step.explain_undo()})
        from minicontainer.network.attach import release_lines
        from minicontainer.network.networks import NetworkStore
        lines += release_lines(NetworkStore(rt.root), rec.endpoints)
    lines.append({"why": "its record, writable layer, log and trace",
                  "sh": f"rm -rf {rt.containers.path(rec.id, '')}".rstrip("/")})
    return lines


