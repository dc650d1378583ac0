"""Image commands: pull, load, images/image ls, image inspect|rm|prune, and run's pull of a missing image."""

from __future__ import annotations

import os
import sys

from minicontainer.cli.flags import Flag
from minicontainer.errors import MCError


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _progress(stream, quiet: bool):
    from minicontainer.cli.progress import PullProgress
    return PullProgress(stream, tty=stream.isatty(), quiet=quiet)


def cmd_pull(rt, opts, args) -> int:
    from minicontainer.specs.refs import parse_reference
    ref = parse_reference(args[0])
    progress = _progress(sys.stdout, opts.quiet)
    if ":" not in args[0].rpartition("/")[2] and "@" not in args[0]:
        progress.line("Using default tag: latest")
    _pull(rt, args[0], progress, opts.platform)
    _out(f"{ref.domain}/{ref.path}" + (f"@{ref.digest}" if ref.digest else f":{ref.tag}") + "\n")
    return 0


def pull_progress(stream):
    """run/create's pull of a missing image: its lines on stderr (stdout is the container id's)."""
    return _progress(stream, False)


def _pull(rt, ref: str, progress, platform: str = "") -> None:
    """Any failure of a pull exits 125, as `run` does for every daemon error."""
    try:
        rt.pull(ref, progress, platform)
    except MCError as exc:
        exc.exit_code = 125
        raise


def with_archive(rt, src: str, use):
    """use(path) on the tar archive at src or, for "-", on a temporary copy of stdin (the readers seek)."""
    if src != "-":
        if not os.path.isfile(src):
            raise MCError(f"open {src}: no such file or directory", 1)
        return use(src)
    import tempfile
    with tempfile.NamedTemporaryFile(dir=rt.root.tmp, suffix=".tar") as tmp:
        while chunk := sys.stdin.buffer.read(1 << 20):
            tmp.write(chunk)
        tmp.flush()
        return use(tmp.name)


def cmd_load(rt, opts, args) -> int:
    from minicontainer.images.archive import load
    src = opts.input or "-"
    if src == "-" and sys.stdin.isatty():
        raise MCError("requested load from stdin, but stdin is empty", 1)
    lines = with_archive(rt, src, lambda path: load(rt.images, path))
    if not opts.quiet:
        _out("".join(line + "\n" for line in lines))
    return 0


def image_inspect(rt, opts, args) -> int:
    from minicontainer.cli.commands import cmd_inspect
    opts["type"] = "image"
    return cmd_inspect(rt, opts, args)


def image_prune(rt, opts, args) -> int:
    return _prune(rt, opts)


def subcommands():
    """`image ls|inspect|rm|prune|pull|load|import`: the top-level commands under Docker's group names."""
    from minicontainer.cli.commands import COMMANDS, Command
    ls, rmi, inspect = COMMANDS["images"], COMMANDS["rmi"], COMMANDS["inspect"]
    return [
        Command("ls", "image ls [OPTIONS]", ls.summary, ls.handler, ls.flags, max_args=0, aliases=["list"],
                examples=ls.examples),
        Command("inspect", "image inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
                image_inspect, [f for f in inspect.flags if f.long != "type"], min_args=1,
                examples=["minicontainer image inspect busybox"]),
        Command("rm", "image rm [OPTIONS] IMAGE [IMAGE...]", rmi.summary, rmi.handler, rmi.flags, min_args=1,
                aliases=["remove"], examples=["minicontainer image rm myimage:1.0"]),
        Command("prune", "image prune [OPTIONS]", "Remove unused images", image_prune,
                [Flag("all", "a", help="Remove all unused images, not just dangling ones"),
                 Flag("force", "f", help="Do not prompt for confirmation")], max_args=0,
                examples=["minicontainer image prune -f", "minicontainer image prune -a -f   # every unused image"]),
        *(Command(name, f"image {COMMANDS[name].usage}", COMMANDS[name].summary, COMMANDS[name].handler,
                  COMMANDS[name].flags, min_args=COMMANDS[name].min_args, max_args=COMMANDS[name].max_args,
                  examples=COMMANDS[name].examples) for name in ("pull", "load", "import", "tag")),
    ]


def _prune(rt, popts) -> int:
    from minicontainer.cli.format import human_size
    if not popts.force:
        what = "all images without at least one container associated to them" if popts.all else "all dangling images"
        if not sys.stdin.isatty():
            raise MCError("this would remove " + what + "; run with -f to confirm (stdin is not a terminal)", 1)
        answer = input(f"WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 0
    lines, reclaimed = rt.prune_images(popts.all)
    text = ("Deleted Images:\n" + "".join(line + "\n" for line in lines) + "\n") if lines else ""
    _out(text + f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0


PULL_FLAGS = [Flag("quiet", "q", help="Suppress verbose output"),
              Flag("platform", kind="str", metavar="string", help="Set platform if server is multi-platform capable")]
LOAD_FLAGS = [Flag("input", "i", kind="str", metavar="string", help="Read from tar archive file, instead of STDIN"),
              Flag("quiet", "q", help="Suppress the load output")]
