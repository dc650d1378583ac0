"""A container's setup as an ordered list of Steps.

Every kernel-level action is a Step: do() applies it, undo() reverses it, explain() returns the
equivalent shell command and `why` says in one line why it exists. A Plan applies its steps in
order and, if one fails, undoes the ones already applied in reverse order.
"""

from __future__ import annotations


class Step:
    why: str = ""

    def do(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        """Reverse do(). The default does nothing: most container-side steps vanish with their namespace."""

    def explain(self) -> str:
        raise NotImplementedError


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
