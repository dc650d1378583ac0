"""Every command and subcommand answers --help with its usage, options and (where it has them)
examples; the bash completion script is generated from the same table and really completes."""

import os
import subprocess
import sys

import pytest

from minicontainer.cli.commands import COMMANDS
from tests.conftest import REPO
from tests.helpers.completion import complete


def _all_commands():
    for cmd in COMMANDS.values():
        if cmd.subcommands is None:
            yield [cmd.name], cmd
        else:
            for sub in cmd.subcommands():
                yield [cmd.name, sub.name], sub


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "minicontainer", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": REPO, **(env or {})})


@pytest.mark.parametrize("words", [w for w, _ in _all_commands()], ids=" ".join)
def test_every_command_has_help_with_examples(words):
    cmd = dict((tuple(w), c) for w, c in _all_commands())[tuple(words)]
    proc = run_cli(*words, "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith(f"Usage:  minicontainer {' '.join(words)}")
    assert cmd.summary in proc.stdout and "--help" in proc.stdout
    for flag in cmd.flags:
        assert f"--{flag.long}" in proc.stdout
    assert cmd.examples and "Examples:\n  minicontainer " in proc.stdout


def test_every_example_names_a_real_command_and_flag():
    """Examples are parsed by the real parser: a renamed flag breaks this test, not a user."""
    from minicontainer.cli import flags as fl
    for _, cmd in _all_commands():
        for example in cmd.examples:
            words = example.split("#")[0].split("|")[0].split("$(")[0].split()
            if words[0] != "minicontainer" or words[1].startswith("-"):  # a global flag: minicontainer --version
                continue
            top = COMMANDS[words[1]]
            target, rest = (top, words[2:]) if top.subcommands is None else (top.subcommand(words[2]), words[3:])
            assert target is not None, example
            fl.parse(target.flags, [w.strip("'") for w in rest if w != "<"], interspersed=target.interspersed)


def test_group_usage_and_unknown_subcommand():
    proc = run_cli("network")
    assert proc.returncode == 0 and "Commands:" in proc.stdout and "  create " in proc.stdout
    bad = run_cli("volume", "bogus")
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == "minicontainer: 'volume bogus' is not a minicontainer command."


def test_bash_completion_completes_commands_subcommands_and_flags(tmp_path):
    script = tmp_path / "minicontainer.bash"
    script.write_text(run_cli("completion", "bash").stdout)
    assert complete(script, "minicontainer net") == ["network"]
    assert complete(script, "minicontainer network cr") == ["create"]
    assert sorted(complete(script, "minicontainer rm --")) == ["--explain", "--force", "--help", "--volumes"]
    assert "--publish" in complete(script, "minicontainer --root /tmp/x run --pu")
    assert run_cli("completion", "zsh").returncode == 1
