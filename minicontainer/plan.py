"""A container's setup as an ordered list of Steps.

Every kernel-level action is a Step: do() applies it, undo() reverses it, explain() returns the
equivalent shell commands (one per line), explain_undo() those of undo(), and `why` says in one line
why it exists. A Plan applies its steps in order and, if one fails, undoes the ones already applied
in reverse order. Every applied step is written to the trace (trace.py) if one is being recorded.

In explain() a host-side step that needs the container's namespaces names its process `$pid`: the
scripts that print them (show/script.py) set that variable, so the commands replay as printed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict

from minicontainer import trace


class Step:
    why: str = ""

    def do(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        """Reverse do(). The default does nothing: most container-side steps vanish with their namespace."""

    def explain(self) -> str:
        raise NotImplementedError

    def explain_undo(self) -> str:
        return ""


CONTAINER_PID = "$pid"


class Plan:
    def __init__(self, steps: list[Step] | None = None):
        self.steps: list[Step] = list(steps or [])

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def extend(self, steps: list[Step]) -> None:
        self.steps.extend(steps)

    def apply(self) -> None:
        done: list[Step] = []
        try:
            for step in self.steps:
                step.do()
                done.append(step)
                trace.applied(step)
        except BaseException:
            for step in reversed(done):
                try:
                    step.undo()
                except OSError:
                    pass
            raise

    def explain(self) -> list[str]:
        """The plan as shell commands, each preceded by a '# why' comment when it has one."""
        lines = []
        for step in self.steps:
            if step.why:
                lines.append(f"# {step.why}")
            lines.append(step.explain())
        return lines


# ---------------------------------------------------------------- the journal of host-side steps

_JOURNALED: dict[str, type] = {}
JOURNALED_MODULES = ("minicontainer.kernel.netlink", "minicontainer.network.ports")


def journaled(cls):
    """Register a dataclass Step whose undo() may have to run in another process (the reaper)."""
    _JOURNALED[cls.__name__] = cls
    return cls


class Journal:
    """Host-side steps already applied for a container, saved after each one, undone in reverse.

    If the supervisor dies, the next command reads this file and undoes the same steps, so a veth,
    a /run/netns mount or a firewall rule never outlives its container.
    """

    def __init__(self, path: str):
        self.path = path

    def _load(self) -> list[dict]:
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return []

    def apply(self, steps: list[Step]) -> None:
        """do() each step, written down before it is done (a write-ahead log): whenever this process
        dies, every host object it may have made is in the file, and undo() of a step that never
        happened finds nothing to remove. Entries are rewritten after do() with what it learnt."""
        from minicontainer.faults import checkpoint
        from minicontainer.store.locks import write_atomic
        entries = self._load()
        for step in steps:
            name = type(step).__name__
            journaled = name in _JOURNALED  # steps inside the container's netns need no undo
            if journaled:
                entries.append({"type": name, "fields": asdict(step)})
                write_atomic(self.path, json.dumps(entries))
                checkpoint(f"journal: about to {name}")
            step.do()
            checkpoint(f"journal: {name} applied")  # in the kernel, its entry not rewritten yet
            trace.applied(step)
            if journaled:
                entries[-1] = {"type": name, "fields": asdict(step)}
                write_atomic(self.path, json.dumps(entries))

    def steps(self) -> list[Step]:
        """The applied steps, in the order they were applied."""
        import importlib
        for module in JOURNALED_MODULES:  # a reaper or `rm --explain` may not have loaded them yet
            importlib.import_module(module)
        return [_JOURNALED[e["type"]](**e["fields"]) for e in self._load()]

    def undo(self) -> list[str]:
        """Undo every recorded step in reverse order, dropping each from the file once undone (a
        teardown killed half way resumes where it stopped); returns the errors (teardown goes on
        past them)."""
        from minicontainer.faults import checkpoint
        from minicontainer.store.locks import write_atomic
        errors = []
        entries, steps = self._load(), self.steps()
        for step in reversed(steps):
            try:
                step.undo()
            except Exception as exc:  # one failed undo must not leave the rest behind
                errors.append(f"{step.explain_undo() or step.explain()}: {exc}")
            entries.pop()
            write_atomic(self.path, json.dumps(entries))
            checkpoint(f"journal: {type(step).__name__} undone")
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        return errors
