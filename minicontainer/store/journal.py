"""The journal of a container's host-side steps: applied in order, saved before each one, undone in
reverse.

If the supervisor dies, the next command reads this file and undoes the same steps, so a veth, a
/run/netns mount or a firewall rule never outlives its container. Each entry names its Step class
and the module that defines it, so a process that reads a journal (the reaper, `rm --explain`)
loads the classes it needs without this module naming any module above it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from minicontainer import trace
from minicontainer.faults import checkpoint
from minicontainer.plan import Step, is_journaled, journal_fields, journaled_type
from minicontainer.store.locks import write_atomic


def _entry(step: Step) -> dict:
    return {"type": type(step).__name__, "module": type(step).__module__, "fields": journal_fields(step)}


class Journal:
    def __init__(self, path: str):
        self.path = path

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def _load(self) -> list[dict]:
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return []

    def _save(self, entries: list[dict]) -> None:
        write_atomic(self.path, json.dumps(entries))

    def apply(self, steps: list[Step]) -> None:
        """do() each step, written down before it is done (a write-ahead log): whenever this process
        dies, every host object it may have made is in the file, and undo() of a step that never
        happened finds nothing to remove. Entries are rewritten after do() with what it learnt.
        Steps that are not journaled (inside the container's netns) are applied and traced only."""
        entries = self._load()
        for step in steps:
            name, journaled = type(step).__name__, is_journaled(step)
            if journaled:
                entries.append(_entry(step))
                self._save(entries)
                checkpoint(f"journal: about to {name}")
            step.do()
            checkpoint(f"journal: {name} applied")  # in the kernel, its entry not rewritten yet
            trace.applied(step)
            if journaled:
                entries[-1] = _entry(step)
                self._save(entries)

    def steps(self, of_type: type | None = None) -> list:
        """The applied steps, in the order they were applied; of_type: only those of that Step class
        (`exec` wants the cgroup: the modules of the other steps need not load)."""
        return [journaled_type(e["type"], e.get("module", ""))(**e["fields"]) for e in self._load()
                if of_type is None or e["type"] == of_type.__name__]

    def undo(self, only: Callable[[Step], bool] | None = None) -> list[str]:
        """Undo the recorded steps in reverse order (with `only`, just those it selects: one
        endpoint's veth at a disconnect, the published ports when they move), dropping each from
        the file once undone (a teardown killed half way resumes where it stopped). Teardown goes
        on past a failed undo; returns the errors, one line each, for the caller to record and show."""
        errors = []
        entries, steps = self._load(), self.steps()
        for index in reversed(range(len(steps))):
            step = steps[index]
            if only is not None and not only(step):
                continue
            try:
                step.undo()
            except Exception as exc:  # noqa: BLE001 - one failed undo must not leave the rest behind
                errors.append(f"{(step.explain_undo() or step.explain()).splitlines()[0]}: {exc}")
            del entries[index]
            self._save(entries)
            checkpoint(f"journal: {type(step).__name__} undone")
        if not entries:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        return errors
