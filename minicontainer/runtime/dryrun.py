"""run --dry-run: the start plan a run would execute (runtime/startplan.py), rendered, nothing taken.

Differences from a real run, by necessity: the container id, the veth name and a random host port are
drawn now and will differ; the address is the next free one, not leased; a new named or anonymous
volume is shown at the path it would get.
"""

from __future__ import annotations

from minicontainer.runtime.startplan import RuntimeWorld, StartPlan, start_plan
from minicontainer.runtime.volumes import mount_records

ANONYMOUS = "ANONYMOUS-VOLUME-ID"


class DryWorld(RuntimeWorld):
    """A world that gives and takes nothing: the next free address."""

    look_only = True

    def lease(self, net, cid: str, ip: str = "") -> str:
        from minicontainer.network.networks import NetworkStore
        return NetworkStore(self.rt.root).ipam(net).next_free(ip)


def dry_run_plan(rt, spec) -> tuple[StartPlan, object]:
    """The start plan of a container created from spec, and its (unsaved) record."""
    spec = rt.complete(spec)
    rec = rt.new_record(spec)
    rec.mounts = mount_records(rt.volumes, spec.mounts, anonymous_name=ANONYMOUS)
    return start_plan(DryWorld(rt), rec), rec


def dry_run_lines(rt, spec) -> tuple[list[dict], object]:
    plan, rec = dry_run_plan(rt, spec)
    return plan.trace_lines(), rec
