"""File steps of a container's start: the directories and /etc files its view is made of, besides
the image's layers. They are host files in the container's state directory, left for `rm`."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from minicontainer.plan import Step


@dataclass
class MakeDirs(Step):
    """mkdir -p, for each path."""

    paths: list[str]
    why: str = ""

    def do(self) -> None:
        for path in self.paths:
            os.makedirs(path, 0o755, exist_ok=True)

    def explain(self) -> str:
        return "mkdir -p " + " ".join(shlex.quote(p) for p in self.paths)


@dataclass
class WriteFile(Step):
    """Write a file's whole text."""

    path: str
    text: str
    why: str = ""

    def do(self) -> None:
        with open(self.path, "w") as f:
            f.write(self.text)

    def explain(self) -> str:
        return f"cat > {shlex.quote(self.path)} <<'END'\n{self.text.rstrip(chr(10))}\nEND"
