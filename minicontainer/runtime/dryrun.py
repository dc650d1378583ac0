"""run --dry-run: the trace a start would write, built from the same step builders, applying nothing.

Differences from a real run, by necessity: the container id, the veth name and a random host port are
drawn now and will differ; a new named or anonymous volume is shown at the path it would get.
"""

from __future__ import annotations

from minicontainer import trace
from minicontainer.runtime.container_plan import namespace_kinds
from minicontainer.runtime.supervisor import exec_line, file_lines, launch_for, plan_for, unshare_line, wanted_bindings


def _mount_records(rt, spec) -> list[dict]:
    """What create would record, with a placeholder for an anonymous volume's random name."""
    from minicontainer.runtime.volumes import mount_records
    records = mount_records(rt.volumes, spec.mounts)
    for rec, mount in zip(records, spec.mounts):
        if mount.type == "volume" and not mount.source:
            rec["source"], rec["name"] = rt.volumes.data("ANONYMOUS-VOLUME-ID"), "ANONYMOUS-VOLUME-ID"
    return records


def dry_run_lines(rt, spec) -> tuple[list[dict], object]:
    from minicontainer.runtime.api import etc_files
    rec = rt.new_record(spec)
    rec.extra["mounts"] = _mount_records(rt, spec)
    mode = rec.host_config["NetworkMode"]
    lines: list[dict] = []
    ip = None
    host_steps = []
    if mode not in ("none", "host") and not mode.startswith("container:"):
        from minicontainer.kernel.netlink import link_exists
        from minicontainer.network.attach import attach_steps, endpoint
        from minicontainer.network.networks import NetworkStore
        from minicontainer.network.ports import publish_steps
        networks = NetworkStore(rt.root)
        net = networks.peek(mode)
        if not link_exists(net.bridge):
            lines += [trace.entry(step, "network") for step in networks.first_use_steps(net)]
        ip = networks.ipam(net).next_free()
        ep = endpoint(net, ip, rec.id)
        host_steps = attach_steps(ep, 0, rec.id)
        wanted = wanted_bindings(rec)
        if wanted:
            _, holders, rules = publish_steps(net, ep, wanted)
            host_steps += rules + holders
    lines += file_lines(rt.containers, rec, etc_files(rec, mode == "host", ip))
    join_pid = 0
    if mode.startswith("container:"):
        join_pid = rt.get(mode.partition(":")[2]).pid
    lines.append(unshare_line(namespace_kinds(mode), join_pid))
    lines.append(exec_line(launch_for(rec, foreground=False)))
    lines += [trace.entry(step, "container") for step in plan_for(rt, rec).steps]
    lines += [trace.entry(step, "host") for step in host_steps]
    return lines, rec
