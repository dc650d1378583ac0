"""The README's tutorial as data: every `$ command` in its console blocks, with the output shown
under it. tests/integration/test_readme.py runs them all and compares the output's shape;
`python -m tests.readme_tutorial --write` runs them with the default names (bridge mc0, subnet
172.17.0.0/16, chains MC) in a scratch state root and pastes the real output into the README.

Shape: ids, addresses, numbers, dates and the run's own names are replaced by placeholders and
spaces collapsed, so a table that widens or a different container id still matches, while a
missing line, another message or a changed column does not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
START, END = "\n## Tutorial", "\n## "
# Outputs that depend on the machine, not on minicontainer: only "it ran and printed something".
MACHINE_DEPENDENT = ("--net=host",)
LEGACY_TABLES_WARNING = "# Warning: iptables-legacy tables present"


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)


def tutorial_span(text: str) -> tuple[int, int]:
    start = text.index(START)
    end = text.index(END, start + len(START))
    return start, end


def parse(text: str) -> list[Step]:
    start, end = tutorial_span(text)
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", text[start:end], re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            elif steps:
                steps[-1].expected.append(line)
    return steps


_SHAPES = [
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\bveth[0-9a-f]{7}\b"), "veth<id>"),
    (re.compile(r"\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b"), "<mac>"),
    (re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \w{3} +\d+ [\d:]+ \w+ \d{4}\b"), "<date>"),
    (re.compile(r"(?:Less than a second|About a minute|\d+ (?:seconds?|minutes?)) ago"), "<ago>"),
    (re.compile(r"Up (?:Less than a second|About a minute|\d+ (?:seconds?|minutes?))"), "Up <dur>"),
    (re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d+ +[\d:]+"), "<mtime>"),
    (re.compile(r"\[?[0-9a-f]*:[0-9a-f:]*:[0-9a-f:]*\]?(?:/\d+)?"), "<ipv-six>"),
    (re.compile(r"\b\d+\.\d+\.\d+\.\d+(?:/\d+)?\b"), "<ip>"),
    (re.compile(r"\d+"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def shape(line: str, names: dict[str, str] | None = None) -> str:
    for ours, default in (names or {}).items():
        line = line.replace(ours, default)
    for pattern, placeholder in _SHAPES:
        line = pattern.sub(placeholder, line)
    return line.strip()


def shapes(lines: list[str], names: dict[str, str] | None = None) -> list[str]:
    return [shape(line, names) for line in lines if line.strip()]


class Session:
    """Runs tutorial commands one by one in a scratch directory (the files they make stay for the
    next), with `minicontainer` on PATH and the given environment, output as a terminal shows it."""

    def __init__(self, workdir: str, env: dict[str, str]):
        self.workdir = workdir
        bindir = os.path.join(workdir, ".bin")
        os.makedirs(bindir, exist_ok=True)
        shim = os.path.join(bindir, "minicontainer")
        with open(shim, "w") as f:
            f.write(f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m minicontainer "$@"\n')
        os.chmod(shim, 0o755)
        self.env = {**os.environ, **env, "PATH": f"{bindir}:{os.environ['PATH']}"}

    def run(self, command: str, timeout: float = 60) -> list[str]:
        proc = subprocess.run(["bash", "-c", command], cwd=self.workdir, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
        # iptables-nft warns on stderr where any program has used the legacy tables since boot (on
        # this test machine, the legacy half of the suite): a fact of the host, not of our output
        return [line for line in proc.stdout.splitlines() if not line.startswith(LEGACY_TABLES_WARNING)]

    def run_step(self, command: str, settle: float = 5) -> list[str]:
        """Run one tutorial command. A page fetched right after `run -d` may come before the server
        listens: a `curl` that printed nothing is tried again for a few seconds, as a user would."""
        deadline = time.monotonic() + settle
        out = self.run(command)
        while not out and command.startswith("curl") and time.monotonic() < deadline:
            time.sleep(0.2)
            out = self.run(command)
        return out


def write_readme() -> None:
    """Run the tutorial with Docker's default names and paste the real output into README.md."""
    with open(README) as f:
        text = f.read()
    steps = parse(text)
    with tempfile.TemporaryDirectory(prefix="readme-") as work:
        session = Session(work, {"MINICONTAINER_ROOT": os.path.join(work, "state")})
        outputs = []
        try:
            for step in steps:
                out = session.run_step(step.command)
                outputs.append(out)
                print(f"$ {step.command}\n" + "\n".join(out), flush=True)
        finally:
            session.run("minicontainer rm -f $(minicontainer ps -aq) >/dev/null 2>&1; "
                        "minicontainer network rm --predefined bridge >/dev/null 2>&1")
    start, end = tutorial_span(text)
    section, it = text[start:end], iter(outputs)

    def fill(block: re.Match) -> str:
        lines = []
        for line in block.group(1).splitlines():
            if line.startswith("$ "):
                lines += [line, *next(it)]
        return "```console\n" + "\n".join(lines) + "\n```"
    section = re.sub(r"```console\n(.*?)```", fill, section, flags=re.S)
    with open(README, "w") as f:
        f.write(text[:start] + section + text[end:])


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.readme_tutorial --write   (as root; rewrites README.md's tutorial output)")
    write_readme()
