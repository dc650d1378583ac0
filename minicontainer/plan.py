"""Steps and Plans: a container's setup as an ordered list of kernel actions.

Every kernel-level action is a Step: do() applies it, undo() reverses it, explain() returns the
equivalent shell commands (one per line), explain_undo() those of undo(), and `why` says in one line
why it exists. A Plan applies its steps in order and, if one fails, undoes the ones already applied
in reverse order. Every applied step is written to the trace (trace.py) if one is being recorded.
Host-side steps that another process may have to undo are registered with @journaled and written
to a container's journal (store/journal.py) as they are applied.

A Step's constructor fields are what it is (and what the journal keeps); what it learns while
doing it is declared with state() (not a constructor argument, not journaled, not compared).

In explain() a host-side step that needs the container's namespaces names its process `$pid`: the
scripts that print them (show/script.py) set that variable, so the commands replay as printed.
"""

from __future__ import annotations

from dataclasses import field, fields

from minicontainer import trace


class Step:
    why: str = ""

    def do(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        """Reverse do(). The contract (CNI's DEL): idempotent, and a no-op for a step that never
        happened, so a teardown can run again after a crash and the reaper can undo a step that was
        journaled but not done. The default does nothing: most container-side steps vanish with
        their namespace."""

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
        """do() each step; if one fails, undo the applied ones in reverse and raise the first error
        (the undo errors are attached to it as notes: none of them may hide the cause)."""
        done: list[Step] = []
        try:
            for step in self.steps:
                step.do()
                done.append(step)
                trace.applied(step)
        except BaseException as exc:
            for step in reversed(done):
                try:
                    step.undo()
                except Exception as undo_exc:  # noqa: BLE001 - kept as a note on the real error
                    exc.add_note(f"while undoing {type(step).__name__}: {undo_exc}")
            raise

    def explain(self) -> list[str]:
        """The plan as shell commands, each preceded by a '# why' comment when it has one."""
        lines = []
        for step in self.steps:
            if step.why:
                lines.append(f"# {step.why}")
            lines.append(step.explain())
        return lines


def state(default=None):
    """A Step's runtime state: what do() learnt (a pid, the commands it really ran). Declared on the
    class so every attribute is visible there, but not a constructor argument and not journaled."""
    return field(default=default, init=False, repr=False, compare=False)


def journal_fields(step: Step) -> dict:
    """What the journal keeps of a step (a dataclass): its constructor fields, not its runtime state."""
    return {f.name: getattr(step, f.name) for f in fields(step) if f.init}  # type: ignore[arg-type]


_JOURNALED: dict[str, type] = {}


def journaled(cls):
    """Register a dataclass Step whose undo() may have to run in another process (the reaper)."""
    _JOURNALED[cls.__name__] = cls
    return cls


def journaled_type(name: str, module: str = "") -> type:
    """The registered Step class `name`, importing `module` (written down with the entry) first if
    this process has not loaded it yet."""
    if name not in _JOURNALED and module:
        import importlib
        importlib.import_module(module)
    return _JOURNALED[name]


def is_journaled(step: Step) -> bool:
    return type(step).__name__ in _JOURNALED
