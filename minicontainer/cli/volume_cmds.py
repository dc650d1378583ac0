"""`volume create | ls | inspect | rm | prune`, one handler per subcommand."""

from __future__ import annotations

import json
import os
import sys

from minicontainer.cli.flags import Flag
from minicontainer.errors import DaemonError, MCError


def _out(text: str) -> None:
    sys.stdout.write(text)


def create_volume(rt, name: str, driver: str, labels: dict, options: dict):
    """`volume create` (and POST /volumes/create): Docker's checks, then the volume; no name gives
    an anonymous one, as Docker's (prune takes it)."""
    from minicontainer.specs.volumes import check_volume_name, check_volume_options
    given, name = bool(name), name or os.urandom(32).hex()
    check_volume_name(name)
    if driver != "local":
        raise DaemonError(f"create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found", 1)
    check_volume_options(name, options)
    return rt.volumes.ensure(name, anonymous=not given, labels=labels, options=options)[0]


def volume_create(rt, opts, args) -> int:
    labels = dict(label.partition("=")[::2] for label in opts.label)
    options = dict(o.partition("=")[::2] for o in opts.opt)
    _out(create_volume(rt, args[0] if args else "", opts.driver, labels, options).name + "\n")
    return 0


def volumes_matching(rt, filters: list[str]) -> list:
    """The volumes `volume ls --filter` keeps (the Engine API's GET /volumes filters too)."""
    from minicontainer.runtime.volumes import users_of
    from minicontainer.specs.filters import label_matches, parse_filters
    wanted = parse_filters(filters, {"dangling", "driver", "label", "name"})
    containers = rt.list(all_=True) if "dangling" in wanted else []
    checks = {"dangling": lambda v, want: (not users_of(containers, v.name)) == (want in ("true", "1")),
              "driver": lambda v, want: want == "local", "label": lambda v, want: label_matches(v.labels, want),
              "name": lambda v, want: want in v.name}
    return [v for v in rt.volumes.list() if all(any(checks[k](v, w) for w in ws) for k, ws in wanted.items())]


def volume_ls(rt, opts, args) -> int:
    from minicontainer.cli.format import formatted
    volumes = volumes_matching(rt, opts.filter)
    if opts.quiet:
        _out("".join(v.name + "\n" for v in volumes))
        return 0
    rows = [{"Driver": "local", "Name": v.name, "Mountpoint": rt.volumes.data(v.name), "Scope": "local",
             "Labels": ",".join(f"{k}={val}" for k, val in v.labels.items())} for v in volumes]
    headers = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE", "Labels": "LABELS"}
    _out(formatted(opts.format or "table {{.Driver}}\t{{.Name}}", rows, headers))
    return 0


def volume_inspect(rt, opts, args) -> int:
    out, failed = [], 0
    for name in args:
        try:
            out.append(rt.volumes.inspect(rt.volumes.get(name)))
        except MCError as exc:
            print(f"Error response from daemon: {exc}", file=sys.stderr)
            failed = 1
    if opts.format:
        from minicontainer.cli.format import render_template
        _out("".join(render_template(opts.format, v) + "\n" for v in out))
    else:
        _out(json.dumps(out, indent=4) + "\n")
    return failed


def volume_rm(rt, opts, args) -> int:
    from minicontainer.cli.commands import each
    from minicontainer.runtime.volumes import users_of
    containers = rt.list(all_=True)
    return each(args, lambda n: rt.volumes.remove(n, users_of(containers, n), opts.force))


def prune_volumes(rt, every: bool) -> tuple[list[str], int]:
    """The anonymous volumes (every: all) no container uses, removed: their names, the bytes freed."""
    from minicontainer.images.layers import dir_size
    from minicontainer.runtime.volumes import users_of
    gone, freed, containers = [], 0, rt.list(all_=True)
    for vol in rt.volumes.list():
        if (vol.anonymous or every) and not users_of(containers, vol.name):
            freed += dir_size(rt.volumes.data(vol.name))
            rt.volumes.remove(vol.name, [])
            gone.append(vol.name)
    return gone, freed


def volume_prune(rt, opts, args) -> int:
    from minicontainer.cli.format import human_size
    if not opts.force:
        sys.stdout.write("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                         "Are you sure you want to continue? [y/N] ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    gone, freed = prune_volumes(rt, opts.all)
    _out(("Deleted Volumes:\n" + "".join(n + "\n" for n in gone) + "\n" if gone else "") +
         f"Total reclaimed space: {human_size(freed)}\n")
    return 0


def subcommands():
    from minicontainer.cli.commands import Command
    return [
        Command("create", "volume create [OPTIONS] [VOLUME]", "Create a volume", volume_create,
                [Flag("driver", "d", kind="str", default="local", metavar="string", help="Specify volume driver name"),
                 Flag("label", kind="list", metavar="list", help="Set metadata for a volume"),
                 Flag("opt", "o", kind="list", metavar="map", help="Set driver specific options (local: type, o, "
                      "device)")],
                max_args=1, examples=["minicontainer volume create data",
                                      "minicontainer volume create -o type=tmpfs -o device=tmpfs -o o=size=2m scratch",
                                      "minicontainer volume create -o type=none -o o=bind -o device=/srv/www www",
                                      "minicontainer run --rm -v data:/data busybox touch /data/kept"]),
        Command("ls", "volume ls [OPTIONS]", "List volumes", volume_ls,
                [Flag("quiet", "q", help="Only display volume names"),
                 Flag("filter", "f", kind="list", metavar="filter", help="Provide filter values (e.g. 'dangling=true')"),
                 Flag("format", kind="str", metavar="string", help="Format output using a custom template")],
                max_args=0, aliases=["list"],
                examples=["minicontainer volume ls", "minicontainer volume ls -q", "minicontainer volume ls -f dangling=true"]),
        Command("inspect", "volume inspect [OPTIONS] VOLUME [VOLUME...]",
                "Display detailed information on one or more volumes", volume_inspect,
                [Flag("format", "f", kind="str", metavar="string", help="Format output using a custom template")],
                min_args=1, examples=["minicontainer volume inspect data", "minicontainer volume inspect -f '{{.Mountpoint}}' data"]),
        Command("rm", "volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", volume_rm,
                [Flag("force", "f", help="Force the removal of one or more volumes")], min_args=1, aliases=["remove"],
                examples=["minicontainer volume rm data"]),
        Command("prune", "volume prune [OPTIONS]", "Remove unused local volumes", volume_prune,
                [Flag("all", "a", help="Remove all unused volumes, not just anonymous ones"),
                 Flag("force", "f", help="Do not prompt for confirmation")], max_args=0,
                examples=["minicontainer volume prune -f", "minicontainer volume prune -a -f   # named ones too"]),
    ]
