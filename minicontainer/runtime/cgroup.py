"""A container's cgroup: made and filled with its limits on the host (MakeCgroup, journaled, so a
teardown, or the next command after a kill -9 of the supervisor, removes it), entered by the
container's process itself before it builds its view and execs (EnterCgroup), joined the same way by
every exec, read for OOM kills when it exits.

The process moves itself: a thread writing "0" to a v1 `tasks` file takes none of the kernel's
global migration lock, whose first use costs an RCU grace period (about 11 ms here) when another
process moves it. A v2 cgroup has no such door (cgroup.procs only) and pays it.

One cgroup path per container, `<parent>/<id>`: the parent is --cgroup-parent or `minicontainer`
(Docker's is `docker`), relative to the root of each hierarchy as with Docker's cgroupfs driver.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from dataclasses import dataclass, field

from minicontainer.errors import DaemonError
from minicontainer.kernel import cgroups
from minicontainer.plan import Step, journaled

DEFAULT_PARENT = "minicontainer"


def parent_of(cgroup_parent: str) -> str:
    """--cgroup-parent as a path below each hierarchy's root ("/a/b" and "a/b" alike); refuses a
    path that climbs out of it."""
    path = posixpath.normpath("/" + cgroup_parent).lstrip("/") if cgroup_parent else DEFAULT_PARENT
    if cgroup_parent and (".." in cgroup_parent.split("/") or not path):
        raise DaemonError(f"invalid --cgroup-parent {cgroup_parent!r}: a path below the cgroup root", 125)
    return path


def cgroup_path(host_config: dict, cid: str) -> str:
    return f"{parent_of(host_config.get('CgroupParent') or '')}/{cid}"


@journaled
@dataclass
class MakeCgroup(Step):
    """mkdir the container's cgroup in each hierarchy, write its limits (v2: attach its device program)."""

    version: int                # the layout (kernel/cgroups.Layout): 1 with mounts, 2 with root
    mounts: dict[str, str]
    root: str
    rel: str                    # "<parent>/<id>"
    writes: list[list[str]]     # [controller, file, value], in order
    devices: list[str] = field(default_factory=list)  # v2: the allow rules of its BPF device program
    made: list[str] = field(default_factory=list)  # the directories do() created, parents first (learnt)
    ours: bool = True           # the parent is minicontainer's own: removed once empty, whoever made it
    why = "the container's cgroup: its limits, and the processes they hold"

    @property
    def layout(self) -> cgroups.Layout:
        return cgroups.Layout(self.version, dict(self.mounts), self.root)

    @property
    def dirs(self) -> list[str]:
        return [os.path.join(top, self.rel) for top in self.layout.tops()]

    def where(self, controller: str) -> str:
        """The directory holding `controller`'s files."""
        return self.layout.dir_of(self.rel, controller)

    def _parents(self) -> list[str]:
        parts = self.rel.split("/")[:-1]
        return [os.path.join(top, *parts[:n]) for top in self.layout.tops() for n in range(len(parts), 0, -1)]

    def do(self) -> None:
        cpuset = self.mounts.get("cpuset") if self.version == 1 else None
        for top in self.layout.tops():
            self.made += cgroups.make(top, self.rel, self.version, cpuset=top == cpuset)
        for controller, name, value in self.writes:
            cgroups.write(os.path.join(self.where(controller), name), value)
        if self.version == 2 and self.devices:
            from minicontainer.kernel.bpf import limit_devices
            from minicontainer.specs.device_program import program
            limit_devices(self.dirs[0], program(self.devices))

    def undo(self) -> None:
        for directory in self.dirs:
            cgroups.remove(directory)
        for directory in self._parents():  # innermost first
            if self.ours or directory in self.made:
                cgroups.remove_if_empty(directory)

    def explain(self) -> str:
        q = shlex.quote
        dirs = " ".join(q(d) for d in self.dirs)
        lines = []
        if self.version == 2:
            lines += [f"echo '+cpu +cpuset +io +memory +pids' > {q(p)}/cgroup.subtree_control"
                      for p in [self.root, *reversed(self._parents())]]
        lines.append(f"mkdir -p {dirs}")
        cpuset = self.mounts.get("cpuset") if self.version == 1 else None
        if cpuset:  # each new level: its parent's CPUs and memory nodes
            parts = self.rel.split("/")
            levels = [os.path.join(cpuset, *parts[:n]) for n in range(len(parts) + 1)]
            lines += [f"cat {q(parent)}/{n} > {q(child)}/{n}" for parent, child in zip(levels, levels[1:], strict=False)
                      for n in ("cpuset.cpus", "cpuset.mems")]
        allow = [v for c, n, v in self.writes if n == "devices.allow"]
        lines += [f"echo {q(v)} > {q(os.path.join(self.where(c), n))}" for c, n, v in self.writes if n != "devices.allow"]
        if allow:
            target = q(os.path.join(self.where("devices"), "devices.allow"))
            lines.append(f"for rule in {' '.join(q(r) for r in allow)}; do echo \"$rule\" > {target}; done")
        if self.version == 2 and self.devices:
            lines.append(f"# devices: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to {q(self.dirs[0])} (no shell "
                         f"equivalent; `bpftool cgroup list` shows it) allows only: {', '.join(self.devices)}")
        return "\n".join(lines)

    def freeze(self, frozen: bool) -> bool:
        """Freeze or thaw the container's processes (kernel/cgroups.freeze); False if this machine's
        layout has no freezer (v1 without its hierarchy). OSError if the kernel does not settle."""
        if self.version == 1 and "freezer" not in self.mounts:
            return False
        cgroups.freeze(self.where("freezer" if self.version == 1 else "pids"), self.version, frozen)
        return True

    def entry_files(self) -> list[str]:
        """Where a process writes "0" to move itself in: v1 `tasks` (its one thread), v2 cgroup.procs."""
        return [os.path.join(d, "tasks" if self.version == 1 else "cgroup.procs") for d in self.dirs]

    def explain_undo(self) -> str:
        parents = [p for p in self._parents() if self.ours or p in self.made]
        lines = [f"for d in {' '.join(shlex.quote(d) for d in self.dirs)}; do",
                 "  [ -d $d ] || continue; kill -9 $(cat $d/cgroup.procs) 2>/dev/null || true  # what it left running",
                 "  for i in $(seq 200); do rmdir $d 2>/dev/null && break; sleep 0.01; done; [ ! -d $d ]",
                 "done"]
        if parents:
            lines.append(f"rmdir {' '.join(shlex.quote(p) for p in parents)} 2>/dev/null || true  # unless in use")
        return "\n".join(lines)


@dataclass
class EnterCgroup(Step):
    """The process moves itself into its cgroup (module docstring), before anything it does counts."""

    files: list[str]
    why = "the container's process moves itself into its cgroup: from here on its limits hold"

    def do(self) -> None:
        cgroups.enter_self(self.files)

    def explain(self) -> str:
        return f"for f in {' '.join(shlex.quote(f) for f in self.files)}; do echo 0 > $f; done"


def cgroup_step(host_config: dict, cid: str, lay: cgroups.Layout | None) -> MakeCgroup | None:
    """The container's MakeCgroup, None on a machine without cgroups."""
    if lay is None:
        return None
    from minicontainer.runtime.devices import allow_rules
    from minicontainer.specs import cgroup_limits as limits
    from minicontainer.specs.resources import from_host_config
    res = from_host_config(host_config)
    privileged = bool(host_config.get("Privileged"))
    if lay.version == 1:
        rules = limits.device_rules(privileged, allow_rules(res)) if "devices" in lay.mounts else []
        writes = limits.v1_writes(res, rules, cgroups.blkio_weight_file(lay))
        writes = [w for w in writes if w.controller in lay.mounts]
        devices = []
    else:
        writes = limits.v2_writes(res, cgroups.blkio_weight_file(lay))
        devices = [] if privileged else limits.device_rules(False, allow_rules(res))
    return MakeCgroup(lay.version, dict(lay.mounts), lay.root, cgroup_path(host_config, cid),
                      [[w.controller, w.file, w.value] for w in writes], devices=devices,
                      ours=not host_config.get("CgroupParent"))


def cgroup_of(journal) -> MakeCgroup | None:
    """The container's cgroup step, as its journal holds it (None: it has none, or it is not running)."""
    return next(iter(journal.steps(MakeCgroup)), None)


def oom_killed(step: MakeCgroup | None) -> bool:
    if step is None or (step.version == 1 and "memory" not in step.mounts):
        return False
    return cgroups.oom_kills(step.version, step.where("memory")) > 0
