import pytest

from minicontainer.cli import flags as fl
from minicontainer.cli.commands import COMMANDS
from minicontainer.errors import UsageError

RUN = COMMANDS["run"].flags


def test_bundled_short_flags_and_values():
    opts, args = fl.parse(RUN, ["-dit", "-eA=1", "-e", "B=2", "--name=web", "-w/srv", "busybox", "sh", "-c", "x"],
                          interspersed=False)
    assert (opts.detach, opts.interactive, opts.tty) == (True, True, True)
    assert opts.env == ["A=1", "B=2"] and opts.name == "web" and opts.workdir == "/srv"
    assert args == ["busybox", "sh", "-c", "x"]


def test_flags_stop_at_image_so_the_command_keeps_its_own():
    opts, args = fl.parse(RUN, ["--rm", "busybox", "ls", "-l", "--rm"], interspersed=False)
    assert opts.rm is True and args == ["busybox", "ls", "-l", "--rm"]


def test_double_dash_and_bool_values():
    opts, args = fl.parse(RUN, ["--rm=false", "--", "-image"], interspersed=False)
    assert opts.rm is False and args == ["-image"]


@pytest.mark.parametrize("argv,message", [
    (["--foo"], "unknown flag: --foo"),
    (["-z"], "unknown shorthand flag: 'z' in -z"),
    (["-dz"], "unknown shorthand flag: 'z' in -dz"),
    (["--name"], "flag needs an argument: --name"),
    (["-e"], "flag needs an argument: 'e' in -e"),
    (["--rm=maybe"], 'invalid argument "maybe" for "--rm" flag'),
])
def test_pflag_messages(argv, message):
    with pytest.raises(UsageError) as exc:
        fl.parse(RUN, argv, interspersed=False)
    assert str(exc.value).startswith(message) and exc.value.exit_code == 125


def test_int_flag():
    opts, _ = fl.parse(COMMANDS["stop"].flags, ["-t", "3", "c"])
    assert opts.time == 3
    with pytest.raises(UsageError):
        fl.parse(COMMANDS["stop"].flags, ["-t", "x", "c"])
