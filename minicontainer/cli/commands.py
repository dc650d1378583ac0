"""One function per command: parse -> call the Runtime -> print like Docker."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field

from minicontainer.cli import image_cmds, show_cmds
from minicontainer.cli.flags import Flag
from minicontainer.errors import DaemonError, MCError, NoSuchContainer, UsageError


@dataclass
class Command:
    name: str
    usage: str
    summary: str
    handler: object
    flags: list[Flag] = field(default_factory=list)
    interspersed: bool = True
    min_args: int = 0
    max_args: int | None = None
    exact_hint: str = ""


def _out(text: str) -> None:
    sys.stdout.write(text)


# ---------------------------------------------------------------- run / create
RUN_FLAGS = [
    Flag("detach", "d", help="Run container in background and print container ID"),
    Flag("rm", help="Automatically remove the container when it exits"),
    Flag("name", kind="str", metavar="string", help="Assign a name to the container"),
    Flag("env", "e", kind="list", metavar="list", help="Set environment variables"),
    Flag("workdir", "w", kind="str", metavar="string", help="Working directory inside the container"),
    Flag("hostname", "h", kind="str", metavar="string", help="Container host name"),
    Flag("interactive", "i", help="Keep STDIN open even if not attached"),
    Flag("tty", "t", help="Allocate a pseudo-TTY"),
    Flag("network", kind="str", default="bridge", metavar="string", help="Connect a container to a network (bridge, none, host)"),
    Flag("net", kind="str", metavar="string", help="Alias of --network"),
    Flag("publish", "p", kind="list", metavar="list", help="Publish a container's port(s) to the host"),
    Flag("volume", "v", kind="list", metavar="list", help="Bind mount a volume"),
    Flag("mount", kind="list", metavar="mount", help="Attach a filesystem mount to the container"),
    Flag("user", "u", kind="str", metavar="string", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("entrypoint", kind="list", metavar="string", help="Overwrite the default ENTRYPOINT of the image"),
    Flag("publish-all", "P", help="Publish all exposed ports to random ports"),
    Flag("pull", kind="str", default="missing", metavar="string",
         help='Pull image before running ("always", "missing", "never")'),
]
SHOW_FLAGS = [
    Flag("explain", help="Print each kernel action as the equivalent shell command, on stderr"),
    Flag("dry-run", help="Print the kernel actions as a shell script and change nothing"),
]


def _run_spec(opts, args):
    from minicontainer.specs.run import from_options
    return from_options(args[0], args[1:], name=opts.name, detach=opts.detach, remove=opts.rm, env=opts.env,
                        workdir=opts.workdir, hostname=opts.hostname, interactive=opts.interactive, tty=opts.tty,
                        network=opts.net or opts.network, publish=opts.publish, volume=opts.volume, mount=opts.mount,
                        user=opts.user, entrypoint=opts.entrypoint[-1] if opts.entrypoint else None,
                        publish_all=opts.publish_all)


def _create(rt, spec, pull_policy: str = "missing"):
    from minicontainer.cli.image_cmds import ensure_image
    return rt.create_with_image(spec, pull_policy, ensure_image)


def cmd_run(rt, opts, args) -> int:
    from minicontainer.runtime.supervisor import Supervisor, start_detached
    spec = _run_spec(opts, args)
    if opts.dry_run:
        from minicontainer.cli.show_cmds import dry_run
        _out(dry_run(rt, spec))
        return 0
    if spec.tty and spec.interactive and not os.isatty(0):
        raise MCError("the input device is not a TTY", 1)
    if spec.publish and spec.network == "host":
        print("WARNING: Published ports are discarded when using host network mode", file=sys.stderr)
    rec = _create(rt, spec, opts.pull)
    if spec.detach:
        try:
            start_detached(rt, rec)
        finally:
            if opts.explain:
                show_cmds.print_run_trace(rt, rec)
        _out(rec.id + "\n")
        return 0
    sup = Supervisor(rt, rec, foreground=True)
    try:
        sup.start()
    finally:
        if opts.explain:
            show_cmds.print_run_trace(rt, rec)
    return sup.wait()


def cmd_create(rt, opts, args) -> int:
    rec = _create(rt, _run_spec(opts, args), opts.pull)
    _out(rec.id + "\n")
    return 0


# ---------------------------------------------------------------- lifecycle

def _each(args, fn) -> int:
    """Apply fn to each ref like Docker: print what fn returns (the ref itself if None), report each
    error on stderr and go on; exit 1 if any failed."""
    failed = 0
    for ref in args:
        try:
            result = fn(ref)
            _out((ref if result is None else result) + "\n")
        except MCError as exc:
            print(str(exc), file=sys.stderr)
            failed = 1
    return failed


def cmd_start(rt, opts, args) -> int:
    return _each(args, rt.start)


def cmd_stop(rt, opts, args) -> int:
    return _each(args, lambda ref: rt.stop(ref, opts.time))


def cmd_restart(rt, opts, args) -> int:
    return _each(args, lambda ref: rt.restart(ref, opts.time))


def parse_signal(value: str) -> int:
    if value.isdigit():
        return int(value)
    name = value.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise MCError(f"Invalid signal: {value}") from None


def cmd_kill(rt, opts, args) -> int:
    sig = parse_signal(opts.signal)
    return _each(args, lambda ref: rt.kill(ref, sig))


def cmd_rm(rt, opts, args) -> int:
    def remove(ref):
        if opts.explain:
            show_cmds.print_teardown(rt, ref)
        return rt.remove(ref, opts.force, opts.volumes)
    return _each(args, remove)


def cmd_wait(rt, opts, args) -> int:
    return _each(args, lambda ref: str(rt.wait(ref)))


# ---------------------------------------------------------------- looking

def cmd_ps(rt, opts, args) -> int:
    from minicontainer.cli.format import ps_table
    recs = rt.list(all_=opts.all)
    if opts.quiet:
        _out("".join(r.short_id + "\n" for r in recs))
    else:
        _out(ps_table(recs))
    return 0


def cmd_inspect(rt, opts, args) -> int:
    from minicontainer.cli.format import render_template
    from minicontainer.cli.inspect import container_json, image_json
    results, failed = [], 0
    kind = opts.get("type") or ""
    if kind not in ("", "container", "image"):
        raise MCError(f'"{kind}" is not a valid value for --type', 1)
    for ref in args:
        if kind != "image":
            try:
                results.append(container_json(rt, rt.get(ref)))
                continue
            except NoSuchContainer:
                pass
        img = rt.images.find(ref) if kind != "container" else None
        if img is not None:
            results.append(image_json(rt, img))
        else:
            print(f"Error: No such {kind or 'object'}: {ref}", file=sys.stderr)
            failed = 1
    if opts.format:
        _out("".join(render_template(opts.format, r) + "\n" for r in results))
    else:
        _out(json.dumps(results, indent=4, ensure_ascii=False) + "\n")
    return failed


def cmd_logs(rt, opts, args) -> int:
    from minicontainer.runtime.logs import read_entries
    rec = rt.get(args[0])
    path = rt.containers.log_path(rec.id)
    entries, offset = read_entries(path)
    if opts.tail not in ("", "all"):
        try:
            n = int(opts.tail)
        except ValueError:
            raise MCError(f'invalid value for "tail": {opts.tail}') from None
        entries = entries[-n:] if n > 0 else []

    def emit(batch):
        for e in batch:
            stream = sys.stdout if e["stream"] == "stdout" else sys.stderr
            stream.write((e["time"] + " " if opts.timestamps else "") + e["log"])
        sys.stdout.flush()
        sys.stderr.flush()

    emit(entries)
    while opts.follow:
        batch, offset = read_entries(path, offset)
        emit(batch)
        if not batch:
            try:
                if not rt.get(rec.id).running:
                    emit(read_entries(path, offset)[0])
                    break
            except NoSuchContainer:
                break
            time.sleep(0.1)
    return 0


def cmd_exec(rt, opts, args) -> int:
    from minicontainer.specs.run import parse_env
    if opts.tty and opts.interactive and not os.isatty(0):
        raise MCError("the input device is not a TTY", 1)
    if opts.workdir and not opts.workdir.startswith("/"):
        raise DaemonError(f"the working directory '{opts.workdir}' is invalid, it needs to be an absolute path")
    try:
        return rt.exec(args[0], args[1:], interactive=opts.interactive, tty=opts.tty,
                       workdir=opts.workdir, env=parse_env(opts.env), user=opts.user)
    except MCError as exc:
        if exc.exit_code in (126, 127):
            print(f"OCI runtime exec failed: {exc.args[0]}", file=sys.stderr)
            return exc.exit_code
        raise


# ---------------------------------------------------------------- images

def cmd_images(rt, opts, args) -> int:
    from minicontainer.cli.format import images_table
    images = rt.images.list()
    if opts.quiet:
        _out("".join(i.short_id + "\n" for i in images))
    else:
        _out(images_table(images))
    return 0


def cmd_import(rt, opts, args) -> int:
    src, ref = args[0], (args[1] if len(args) > 1 else None)
    image = image_cmds.with_archive(rt, src, lambda path: rt.images.import_tarball(path, ref))
    _out(image.id + "\n")
    return 0


def cmd_rmi(rt, opts, args) -> int:
    return _each(args, lambda ref: "\n".join(rt.remove_image(ref, opts.force)))


def cmd_port(rt, opts, args) -> int:
    from minicontainer.cli.format import port_lines
    rec = rt.get(args[0])
    private = args[1] if len(args) > 1 else None
    if private is not None:
        port = private.partition("/")[0]
        if not port.isdigit():
            raise MCError(f"Error: invalid port ({port}): strconv.ParseUint: parsing \"{port}\": invalid syntax")
    lines = port_lines(rec, private)
    if private is not None and not lines:
        proto = private if "/" in private else f"{private}/tcp"
        raise MCError(f"Error: No public port '{proto}' published for {args[0]}")
    _out("".join(line + "\n" for line in lines))
    return 0


def cmd_cp(rt, opts, args) -> int:
    from minicontainer.cli.format import human_size
    from minicontainer.runtime.cp import copy
    from minicontainer.specs.cp import parse
    req = parse(args[0], args[1], follow_link=opts.follow_link, archive=opts.archive, quiet=opts.quiet)
    size, where = copy(rt, req)
    # Docker prints this only to a terminal, and never when the archive itself goes to stdout.
    if not req.quiet and req.local_path != "-" and sys.stderr.isatty():
        sys.stderr.write(f"Successfully copied {human_size(size)} to {where}\n")
    return 0


def cmd_volume(rt, opts, args) -> int:
    """volume create [NAME] | ls [-q] | inspect VOLUME... | rm [-f] VOLUME... | prune [-a] [-f]"""
    from minicontainer.cli import flags as fl
    from minicontainer.cli.format import human_size, table
    from minicontainer.images.layers import dir_size
    from minicontainer.runtime.volumes import users_of
    volumes, sub = rt.volumes, args[0]
    if sub == "create":
        _, cargs = fl.parse([Flag("driver", "d", kind="str", default="local", metavar="string")], args[1:])
        name = cargs[0] if cargs else os.urandom(32).hex()
        from minicontainer.specs.volumes import check_volume_name
        check_volume_name(name)
        volumes.ensure(name)
        _out(name + "\n")
        return 0
    if sub == "ls":
        lopts, _ = fl.parse([Flag("quiet", "q")], args[1:])
        names = [v.name for v in volumes.list()]
        _out("".join(n + "\n" for n in names) if lopts.quiet else table([["DRIVER", "VOLUME NAME"]] +
                                                                          [["local", n] for n in names]))
        return 0
    if sub == "inspect":
        out, failed = [], 0
        for name in args[1:]:
            try:
                out.append(volumes.inspect(volumes.get(name)))
            except MCError as exc:
                print(f"Error response from daemon: {exc}", file=sys.stderr)
                failed = 1
        _out(json.dumps(out, indent=4) + "\n")
        return failed
    if sub == "rm":
        ropts, names = fl.parse([Flag("force", "f")], args[1:])
        containers = rt.list(all_=True)
        return _each(names, lambda n: volumes.remove(n, users_of(containers, n), ropts.force))
    if sub == "prune":
        popts, _ = fl.parse([Flag("all", "a"), Flag("force", "f")], args[1:])
        if not popts.force:
            sys.stdout.write("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                             "Are you sure you want to continue? [y/N] ")
            sys.stdout.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                return 0
        gone, freed, containers = [], 0, rt.list(all_=True)
        for vol in volumes.list():
            if (vol.anonymous or popts.all) and not users_of(containers, vol.name):
                freed += dir_size(volumes.data(vol.name))
                volumes.remove(vol.name, [])
                gone.append(vol.name)
        _out(("Deleted Volumes:\n" + "".join(n + "\n" for n in gone) + "\n" if gone else "") +
             f"Total reclaimed space: {human_size(freed)}\n")
        return 0
    raise UsageError(f"unknown volume command: {sub} (create, ls, inspect, rm, prune)")


def cmd_network(rt, opts, args) -> int:
    """network create [--subnet CIDR] [--gateway IP] NAME | ls | inspect NAME... | rm NAME...
    (the default bridge network is called `bridge`)."""
    from minicontainer.cli.format import table
    from minicontainer.network.networks import NetworkStore
    networks = NetworkStore(rt.root)
    sub, names = args[0], args[1:]

    def attached(net):
        from minicontainer.network.networks import attached_to
        return attached_to(net, rt.list())
    if sub == "create":
        from minicontainer.cli import flags as fl
        copts, cargs = fl.parse([Flag("subnet", kind="str", metavar="string"), Flag("gateway", kind="str", metavar="string"),
                                 Flag("driver", "d", kind="str", default="bridge", metavar="string")], names)
        if len(cargs) != 1:
            raise MCError('"network create" requires exactly 1 argument.')
        if copts.driver != "bridge":
            raise DaemonError(f"plugin \"{copts.driver}\" not found", 1)
        _out(networks.create(cargs[0], copts.subnet, copts.gateway).id + "\n")
        return 0
    if sub == "ls":
        rows = [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]]
        rows += [[n.id[:12], n.name, "bridge", "local"] for n in networks.list()]
        _out(table(rows))
        return 0
    if sub == "inspect":
        from minicontainer.cli.inspect import network_json
        _out(json.dumps([network_json(networks.get(name), attached(networks.get(name))) for name in names],
                        indent=4) + "\n")
        return 0
    if sub == "rm":
        from minicontainer.cli import flags as fl
        ropts, names = fl.parse([Flag("explain", help="Print what the removal undoes, on stderr")], names)
        failed, explain = 0, ropts.explain
        for name in names:
            try:
                n = networks.get(name)
                done = networks.remove(n, [r.id for r in attached(n)])
                if explain:
                    from minicontainer.show.script import render_teardown
                    sys.stderr.write(render_teardown(done, f"network rm {name}"))
                _out(name + "\n")
            except MCError as exc:
                print(str(exc), file=sys.stderr)
                failed = 1
        return failed
    if sub in ("show", "rules"):
        return show_cmds.cmd_network_show(rt, sub, names)
    raise UsageError(f"unknown network command: {sub} (create, ls, inspect, rm, show, rules)")


def cmd_version(rt, opts, args) -> int:
    from minicontainer import __version__
    _out(f"minicontainer version {__version__}\n")
    return 0


STOP_TIME = Flag("time", "t", kind="int", default=10, metavar="int", help="Seconds to wait before killing the container")

COMMANDS = {c.name: c for c in [
    Command("run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
            cmd_run, RUN_FLAGS + SHOW_FLAGS, interspersed=False, min_args=1),
    Command("create", "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
            cmd_create, RUN_FLAGS, interspersed=False, min_args=1),
    Command("start", "start CONTAINER [CONTAINER...]", "Start one or more stopped containers", cmd_start, min_args=1),
    Command("stop", "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
            cmd_stop, [STOP_TIME], min_args=1),
    Command("restart", "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
            cmd_restart, [STOP_TIME], min_args=1),
    Command("kill", "kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", cmd_kill,
            [Flag("signal", "s", kind="str", default="KILL", metavar="string", help="Signal to send to the container")],
            min_args=1),
    Command("rm", "rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cmd_rm,
            [Flag("force", "f", help="Force the removal of a running container (uses SIGKILL)"),
             Flag("volumes", "v", help="Remove anonymous volumes associated with the container"),
             Flag("explain", help="Print what the removal undoes, as shell commands, on stderr")], min_args=1),
    Command("wait", "wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
            cmd_wait, min_args=1),
    Command("ps", "ps [OPTIONS]", "List containers", cmd_ps,
            [Flag("all", "a", help="Show all containers (default shows just running)"),
             Flag("quiet", "q", help="Only display container IDs")], max_args=0),
    Command("inspect", "inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on containers or images",
            cmd_inspect, [Flag("format", "f", kind="str", metavar="string", help="Format output using a Go-like template"),
                          Flag("type", kind="str", metavar="string", help="Only inspect objects of the given type")],
            min_args=1),
    Command("logs", "logs [OPTIONS] CONTAINER", "Fetch the logs of a container", cmd_logs,
            [Flag("follow", "f", help="Follow log output"), Flag("timestamps", "t", help="Show timestamps"),
             Flag("tail", "n", kind="str", default="all", metavar="string", help="Number of lines to show from the end")],
            min_args=1, max_args=1),
    Command("exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", cmd_exec,
            [Flag("interactive", "i", help="Keep STDIN open even if not attached"), Flag("tty", "t", help="Allocate a pseudo-TTY"),
             Flag("workdir", "w", kind="str", metavar="string", help="Working directory inside the container"),
             Flag("env", "e", kind="list", metavar="list", help="Set environment variables"),
             Flag("user", "u", kind="str", metavar="string", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")")],
            interspersed=False, min_args=2),
    Command("images", "images [OPTIONS]", "List images", cmd_images,
            [Flag("quiet", "q", help="Only show image IDs")], max_args=0),
    Command("import", "import file|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image",
            cmd_import, min_args=1, max_args=2),
    Command("rmi", "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cmd_rmi,
            [Flag("force", "f", help="Force removal of the image")], min_args=1),
    Command("pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", image_cmds.cmd_pull,
            image_cmds.PULL_FLAGS, min_args=1, max_args=1),
    Command("load", "load [OPTIONS]", "Load an image from a tar archive or STDIN", image_cmds.cmd_load,
            image_cmds.LOAD_FLAGS, max_args=0),
    Command("image", "image ls | inspect IMAGE... | rm IMAGE... | prune [-a] [-f] | pull NAME | load -i FILE",
            "Manage images", image_cmds.cmd_image, min_args=1, interspersed=False),
    Command("port", "port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
            cmd_port, min_args=1, max_args=2),
    Command("cp", "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tminicontainer cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
            "Copy files/folders between a container and the local filesystem", cmd_cp,
            [Flag("archive", "a", help="Archive mode (copy all uid/gid information)"),
             Flag("follow-link", "L", help="Always follow symbol link in SRC_PATH"),
             Flag("quiet", "q", help="Suppress progress output during copy. Progress output is automatically "
                  "suppressed if no terminal is attached")], min_args=2, max_args=2),
    Command("volume", "volume create [NAME] | ls [-q] | inspect VOLUME... | rm [-f] VOLUME... | prune [-a] [-f]",
            "Manage volumes", cmd_volume, min_args=1, interspersed=False),
    Command("network", "network create [--subnet CIDR] [--gateway IP] NAME | ls | inspect NETWORK... | "
            "rm [--explain] NETWORK... | show [--format text|svg] [-o FILE] [NETWORK] | rules",
            "Manage networks", cmd_network, min_args=1, interspersed=False),
    Command("explain", "explain CONTAINER", "Print what was done in the kernel to start a container, as a shell script",
            show_cmds.cmd_explain, min_args=1, max_args=1),
    Command("tour", "tour [--yes]", "Walk through cp, volumes, none/host/bridge networking and -p, showing the kernel side",
            show_cmds.cmd_tour, [Flag("yes", "y", help="Run straight through, without pausing between steps")], max_args=0),
    Command("version", "version", "Show the minicontainer version", cmd_version, max_args=0),
]}
