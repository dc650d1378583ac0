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
from minicontainer.errors import DaemonError, MCError, NoSuchContainer


@dataclass
class Command:
    """One command of the CLI: usage, flags, handler, examples."""

    name: str
    usage: str
    summary: str
    handler: object
    flags: list[Flag] = field(default_factory=list)
    interspersed: bool = True
    min_args: int = 0
    max_args: int | None = None
    examples: list[str] = field(default_factory=list)   # shown by --help
    aliases: list[str] = field(default_factory=list)    # other names of a subcommand (ls: list)
    subcommands: object = None  # a group (volume, network, image): a function returning its Commands
    repairs_rules: bool = True  # put back missing firewall rules first (views of the kernel show them MISSING)

    def subcommand(self, name: str):
        return next((c for c in self.subcommands() if name == c.name or name in c.aliases), None)


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
    Flag("domainname", kind="str", metavar="string", help="Container NIS domain name"),
    Flag("uts", kind="str", metavar="string", help="UTS namespace to use (host: the host's, its hostname too)"),
    Flag("pid", kind="str", metavar="string", help="PID namespace to use (host: the host's, all its processes visible)"),
    Flag("dns", kind="list", metavar="list", help="Set custom DNS servers"),
    Flag("dns-search", kind="list", metavar="list", help="Set custom DNS search domains"),
    Flag("dns-option", kind="list", metavar="list", help="Set DNS options"),
    Flag("add-host", kind="list", metavar="list", help='Add a custom host-to-IP mapping (host:ip, or host:host-gateway)'),
    Flag("link", kind="list", metavar="list", help="Add link to another container (the default bridge: an /etc/hosts line)"),
    Flag("interactive", "i", help="Keep STDIN open even if not attached"),
    Flag("tty", "t", help="Allocate a pseudo-TTY"),
    Flag("network", kind="list", metavar="network",
         help="Connect a container to a network (bridge, none, host, container:NAME, or one of yours; repeatable)"),
    Flag("net", kind="list", metavar="network", help="Alias of --network"),
    Flag("ip", kind="str", metavar="ip", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("ip6", kind="str", metavar="ip", help="IPv6 address (not supported yet)"),
    Flag("mac-address", kind="str", metavar="string", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    Flag("network-alias", kind="list", metavar="list", help="Add network-scoped alias for the container"),
    Flag("net-alias", kind="list", metavar="list", help="Alias of --network-alias"),
    Flag("publish", "p", kind="list", metavar="list", help="Publish a container's port(s) to the host"),
    Flag("volume", "v", kind="list", metavar="list", help="Bind mount a volume"),
    Flag("mount", kind="list", metavar="mount", help="Attach a filesystem mount to the container"),
    Flag("tmpfs", kind="list", metavar="list", help="Mount a tmpfs directory (PATH[:OPTIONS])"),
    Flag("user", "u", kind="str", metavar="string", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("entrypoint", kind="list", metavar="string", help="Overwrite the default ENTRYPOINT of the image"),
    Flag("publish-all", "P", help="Publish all exposed ports to random ports"),
    Flag("expose", kind="list", metavar="list", help="Expose a port or a range of ports"),
    Flag("pull", kind="str", default="missing", metavar="string",
         help='Pull image before running ("always", "missing", "never")'),
    Flag("label", "l", kind="list", metavar="list", help="Set meta data on a container"),
    Flag("cap-add", kind="list", metavar="list", help="Add Linux capabilities"),
    Flag("cap-drop", kind="list", metavar="list", help="Drop Linux capabilities"),
    Flag("privileged", help="Give extended privileges to this container"),
    Flag("security-opt", kind="list", metavar="list", help="Security Options (seccomp=PROFILE.json|unconfined, no-new-privileges)"),
    Flag("memory", "m", kind="str", metavar="bytes", help="Memory limit"),
    Flag("memory-swap", kind="str", metavar="bytes", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    Flag("memory-reservation", kind="str", metavar="bytes", help="Memory soft limit"),
    Flag("oom-kill-disable", help="Disable OOM Killer"),
    Flag("cpus", kind="str", metavar="decimal", help="Number of CPUs"),
    Flag("cpu-shares", "c", kind="str", metavar="int", help="CPU shares (relative weight)"),
    Flag("cpuset-cpus", kind="str", metavar="string", help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("pids-limit", kind="str", metavar="int", help="Tune container pids limit (set -1 for unlimited)"),
    Flag("blkio-weight", kind="str", metavar="uint16", help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"),
    Flag("cgroup-parent", kind="str", metavar="string", help="Optional parent cgroup for the container"),
    Flag("device", kind="list", metavar="list", help="Add a host device to the container"),
    Flag("device-cgroup-rule", kind="list", metavar="list", help="Add a rule to the cgroup allowed devices list"),
    Flag("sysctl", kind="list", metavar="map", help="Sysctl options (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)"),
    Flag("read-only", help="Mount the container's root filesystem as read only"),
    Flag("ulimit", kind="list", metavar="ulimit", help="Ulimit options (NAME=SOFT[:HARD])"),
    Flag("init", help="Run an init inside the container that forwards signals and reaps processes"),
    Flag("restart", kind="str", default="no", metavar="string",
         help="Restart policy to apply when a container exits (no, on-failure[:N], always, unless-stopped)"),
]
RESOURCE_FLAGS = ("memory", "memory_swap", "memory_reservation", "oom_kill_disable", "cpus", "cpu_shares",
                  "cpuset_cpus", "pids_limit", "blkio_weight", "cgroup_parent", "device", "device_cgroup_rule")
SHOW_FLAGS = [
    Flag("explain", help="Print each kernel action as the equivalent shell command, on stderr"),
    Flag("dry-run", help="Print the kernel actions as a shell script and change nothing"),
]


def _run_spec(opts, args):
    from minicontainer.specs.run import from_options
    if opts.ip6:
        raise MCError(f"IPv6 is not supported by minicontainer yet: --ip6 {opts.ip6}", 125)
    return from_options(args[0], args[1:], name=opts.name, detach=opts.detach, remove=opts.rm, env=opts.env,
                        workdir=opts.workdir, hostname=opts.hostname, interactive=opts.interactive, tty=opts.tty,
                        network=opts.network + opts.net, publish=opts.publish, volume=opts.volume, mount=opts.mount,
                        user=opts.user, entrypoint=opts.entrypoint[-1] if opts.entrypoint else None,
                        publish_all=opts.publish_all, ip=opts.ip, mac_address=opts.mac_address,
                        network_alias=opts.network_alias + opts.net_alias, domainname=opts.domainname,
                        dns=opts.dns, dns_search=opts.dns_search, dns_option=opts.dns_option, add_host=opts.add_host,
                        link=opts.link, expose=opts.expose, tmpfs=opts.tmpfs, uts=opts.uts, pid=opts.pid,
                        cap_add=opts.cap_add, cap_drop=opts.cap_drop, privileged=opts.privileged,
                        security_opt=opts.security_opt, sysctl=opts.sysctl, read_only=opts.read_only,
                        ulimit=opts.ulimit, init=opts.init, restart=opts.restart, label=opts.label,
                        **{name: opts[name] for name in RESOURCE_FLAGS})


def _create(rt, spec, pull_policy: str = "missing"):
    from minicontainer.cli.image_cmds import pull_progress
    rec = rt.create_with_image(spec, pull_policy, lambda: pull_progress(sys.stderr))
    for warning in rt.warnings:  # the daemon's, which Docker's CLI prints as they come
        print(f"WARNING: {warning}", file=sys.stderr)
    return rec


def cmd_run(rt, opts, args) -> int:
    from minicontainer.runtime.supervisor import Supervisor, start_detached
    spec = _run_spec(opts, args)
    if opts.dry_run:
        from minicontainer.show.explain import dry_run
        _out(dry_run(rt, spec))
        return 0
    if spec.tty and spec.interactive and not spec.detach and not os.isatty(0):  # Docker: only if stdin is attached
        raise MCError("the input device is not a TTY", 1)
    warning = rt.network_mode(spec.network).publish_warning
    if spec.publish and warning:
        print(warning, file=sys.stderr)
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

def each(args, fn) -> int:
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


def warn_teardown(ref: str, errors: list[str]) -> None:
    """What a container's teardown could not undo: on stderr, as warnings (the host may need a hand)."""
    for error in errors:
        print(f"WARNING: {ref}: teardown could not undo: {error}", file=sys.stderr)


def cmd_start(rt, opts, args) -> int:
    return each(args, rt.start)


def cmd_stop(rt, opts, args) -> int:
    return each(args, lambda ref: warn_teardown(ref, rt.stop(ref, opts.time)))


def cmd_restart(rt, opts, args) -> int:
    return each(args, lambda ref: rt.restart(ref, opts.time))


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
    return each(args, lambda ref: rt.kill(ref, sig))


def cmd_rm(rt, opts, args) -> int:
    """Several at once, as the docker CLI removes them (each waits for its supervisor's teardown,
    which the supervisors do side by side); the lines come in the order given. With -f a container
    that is not there is no error, and says nothing (docker CLI 28)."""
    def outcome(ref):
        try:
            if opts.explain:
                show_cmds.print_teardown(rt, ref)
            return rt.remove(ref, opts.force, opts.volumes), None
        except MCError as exc:
            return None, exc
    workers = 1 if opts.explain else min(RM_PARALLEL, len(args))  # --explain's scripts must not interleave
    if workers == 1:
        return _report_rm(args, map(outcome, args), opts.force)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return _report_rm(args, pool.map(outcome, args), opts.force)


def _report_rm(args, outcomes, force: bool) -> int:
    failed = 0
    for ref, (errors, exc) in zip(args, outcomes, strict=True):
        if exc is None:
            warn_teardown(ref, errors)
            _out(ref + "\n")
        elif not (force and isinstance(exc, NoSuchContainer)):
            print(str(exc), file=sys.stderr)
            failed = 1
    return failed


RM_PARALLEL = 32  # removals in flight at once (the docker CLI: 50)


def cmd_wait(rt, opts, args) -> int:
    return each(args, lambda ref: str(rt.wait(ref)))


# ---------------------------------------------------------------- looking

PS_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def ps_filter(values: list[str]):
    """ps --filter: name, id, status, exited, ancestor, volume, network, label (Docker's keys we have)."""
    from minicontainer.specs.filters import label_matches, parse_filters
    wanted = parse_filters(values, {"name", "id", "status", "exited", "ancestor", "volume", "network", "label"})
    for status in wanted.get("status", []):
        if status not in PS_STATUSES:
            raise DaemonError(f"Invalid filter 'status={status}'", 1)
    checks = {
        "name": lambda r, v: v.lstrip("/") in r.name,
        "id": lambda r, v: r.id.startswith(v),
        "status": lambda r, v: r.state == v,
        "exited": lambda r, v: r.status == "exited" and str(r.exit_code) == v,
        "ancestor": lambda r, v: v in (r.image_ref, r.image_id, r.image_id[7:19]) or r.image_ref == v + ":latest",
        "volume": lambda r, v: any(v in (m.name, m.source, m.target) for m in r.mounts),
        "network": lambda r, v: v in {a.network for a in r.networks} | {ep.network_id for ep in r.endpoints}
                                 or v == r.network_mode,
        "label": lambda r, v: label_matches(r.config.get("Labels") or {}, v),
    }
    return wanted, lambda r: all(any(checks[key](r, v) for v in vals) for key, vals in wanted.items())


def cmd_ps(rt, opts, args) -> int:
    from minicontainer.cli.format import ps_table
    wanted, keep = ps_filter(opts.filter)
    recs = [r for r in rt.list(all_=opts.all or "status" in wanted or "exited" in wanted) if keep(r)]
    if opts.quiet:
        _out("".join((r.id if opts.no_trunc else r.short_id) + "\n" for r in recs))
    else:
        _out(ps_table(recs, truncate=not opts.no_trunc, template=opts.format))
    return 0


def cmd_inspect(rt, opts, args) -> int:
    from minicontainer.cli.format import render_template
    from minicontainer.view.inspect import container_json, image_json
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


def cmd_attach(rt, opts, args) -> int:
    """Join a detached container's stdio; ctrl-p ctrl-q (or --detach-keys) leaves it running."""
    from minicontainer.runtime.attach import attach_client, detach_keys
    keys = detach_keys(opts.detach_keys)
    rec = rt.get(args[0])
    if not rec.running:
        raise MCError("cannot attach to a stopped container, start it first", 1)
    tty, forward = rec.config.get("Tty", False), not opts.no_stdin and rec.config.get("OpenStdin", False)
    if tty and forward and not os.isatty(0):
        raise MCError("the input device is not a TTY", 1)
    detached = attach_client(rt.containers.dir(rec.id), keys, forward, raw=tty and forward)
    if detached:
        print("read escape sequence", file=sys.stderr)  # the docker CLI's words, and its exit status 1
        return 1
    return rt.wait(rec.id)


def cmd_exec(rt, opts, args) -> int:
    from minicontainer.specs.process import check_workdir, parse_env
    if opts.tty and opts.interactive and not os.isatty(0):
        raise MCError("the input device is not a TTY", 1)
    check_workdir(opts.workdir, exit_code=1)  # exec reports daemon errors with 1, run with 125
    try:
        return rt.exec(args[0], args[1:], interactive=opts.interactive, tty=opts.tty,
                       workdir=opts.workdir, env=parse_env(opts.env), user=opts.user, privileged=opts.privileged)
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
        _out(images_table(images, template=opts.format))
    return 0


def cmd_import(rt, opts, args) -> int:
    src, ref = args[0], (args[1] if len(args) > 1 else None)
    image = image_cmds.with_archive(rt, src, lambda path: rt.images.import_tarball(path, ref))
    _out(image.id + "\n")
    return 0


def cmd_rmi(rt, opts, args) -> int:
    return each(args, lambda ref: "\n".join(rt.remove_image(ref, opts.force)))


def _moment(value: str, flag: str) -> float | None:
    """--since/--until: unix seconds, an RFC 3339 time, or a duration before now (10m, 1h30m, 45s)."""
    import re
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    from minicontainer.clock import parse_time
    try:
        return parse_time(value)
    except ValueError:
        pass
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", value)
    if not parts or not any(parts.groups()):
        raise MCError(f'invalid value for "{flag}": {value}', 1)
    hours, minutes, seconds = (float(g or 0) for g in parts.groups())
    return time.time() - (hours * 3600 + minutes * 60 + seconds)


def cmd_events(rt, opts, args) -> int:
    """The event journal (store/events.py), then what comes, until --until or ctrl-c."""
    from minicontainer.cli.format import render_template
    from minicontainer.specs.filters import parse_filters
    from minicontainer.store.events import line, stream
    wanted = parse_filters(opts.filter, {"type", "event", "container", "image", "label"})
    since, until = _moment(opts.since, "--since"), _moment(opts.until, "--until")

    def pause() -> bool:
        time.sleep(0.1)
        return True
    try:
        for event in stream(rt.root.run, since, until, wanted, pause):
            _out((render_template(opts.format, event) if opts.format else line(event)) + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_pause(rt, opts, args) -> int:
    return each(args, rt.pause)


def cmd_unpause(rt, opts, args) -> int:
    return each(args, rt.unpause)


def cmd_rename(rt, opts, args) -> int:
    if not args[0].strip() or not args[1].strip():
        raise MCError("Error: Neither old nor new names may be empty", 1)
    try:
        rt.rename(args[0], args[1])
    except MCError as exc:
        exc.exit_code = 1  # the docker CLI exits 1 for any daemon error of rename
        raise
    return 0


def cmd_tag(rt, opts, args) -> int:
    from minicontainer.specs.refs import parse_reference
    for ref in args:  # the docker CLI checks both names before it asks the daemon
        try:
            parse_reference(ref)
        except MCError:
            raise MCError(f'Error parsing reference: "{ref}" is not a valid repository/tag: invalid reference format',
                          1) from None
    rt.images.tag(args[0], args[1])
    return 0


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


def cmd_version(rt, opts, args) -> int:
    from minicontainer import __version__
    _out(f"minicontainer version {__version__}\n")
    return 0


STOP_TIME = Flag("time", "t", kind="int", default=10, metavar="int", help="Seconds to wait before killing the container")

def _completion(rt, opts, args) -> int:
    from minicontainer.cli.completion import cmd_completion
    return cmd_completion(rt, opts, args)


def _stats_cmd(name: str):
    """A command of cli/stats_cmds.py, imported when it runs."""
    def run(rt, opts, args) -> int:
        from minicontainer.cli import stats_cmds
        return getattr(stats_cmds, name)(rt, opts, args)
    return run


def _group(module: str):
    """A group's subcommands, imported when the group is used (their modules import this one)."""
    def load():
        import importlib
        return importlib.import_module(f"minicontainer.cli.{module}").subcommands()
    return load


COMMANDS = {c.name: c for c in [
    Command("run", "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
            cmd_run, RUN_FLAGS + SHOW_FLAGS, interspersed=False, min_args=1,
            examples=["minicontainer run --rm busybox echo hello",
                      "minicontainer run -d --name web -p 8080:80 busybox httpd -f -p 80",
                      "minicontainer run --rm -v /srv/data:/data:ro --net none busybox ls /data",
                      "minicontainer run --rm --explain --net host busybox hostname",
                      "minicontainer run --dry-run -p 8080:80 busybox true   # the script, nothing done"]),
    Command("create", "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
            cmd_create, RUN_FLAGS, interspersed=False, min_args=1,
            examples=["minicontainer create --name job busybox sh -c 'echo done'", "minicontainer start job"]),
    Command("start", "start CONTAINER [CONTAINER...]", "Start one or more stopped containers", cmd_start, min_args=1,
            examples=["minicontainer start web"]),
    Command("stop", "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
            cmd_stop, [STOP_TIME], min_args=1, examples=["minicontainer stop -t 2 web"]),
    Command("restart", "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
            cmd_restart, [STOP_TIME], min_args=1, examples=["minicontainer restart web"]),
    Command("kill", "kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", cmd_kill,
            [Flag("signal", "s", kind="str", default="KILL", metavar="string", help="Signal to send to the container")],
            min_args=1, examples=["minicontainer kill web", "minicontainer kill -s HUP web"]),
    Command("rm", "rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", cmd_rm,
            [Flag("force", "f", help="Force the removal of a running container (uses SIGKILL)"),
             Flag("volumes", "v", help="Remove anonymous volumes associated with the container"),
             Flag("explain", help="Print what the removal undoes, as shell commands, on stderr")], min_args=1,
            examples=["minicontainer rm -f web", "minicontainer rm -f --explain web   # what the removal undoes"]),
    Command("wait", "wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
            cmd_wait, min_args=1, examples=["minicontainer wait job"]),
    Command("ps", "ps [OPTIONS]", "List containers", cmd_ps,
            [Flag("all", "a", help="Show all containers (default shows just running)"),
             Flag("quiet", "q", help="Only display container IDs"),
             Flag("no-trunc", help="Don't truncate output"),
             Flag("filter", "f", kind="list", metavar="filter", help="Filter output based on conditions provided"),
             Flag("format", kind="str", metavar="string",
                  help="Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")],
            max_args=0,
            examples=["minicontainer ps", "minicontainer ps -a", "minicontainer rm -f $(minicontainer ps -aq)",
                      "minicontainer ps -a --no-trunc", "minicontainer ps -f network=lab -f status=running"]),
    Command("stats", "stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
            _stats_cmd("cmd_stats"),
            [Flag("all", "a", help="Show all containers (default shows just running)"),
             Flag("format", kind="str", metavar="string",
                  help="Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template"),
             Flag("no-stream", help="Disable streaming stats and only pull the first result"),
             Flag("no-trunc", help="Do not truncate output")],
            examples=["minicontainer stats --no-stream", "minicontainer stats web --format '{{.Name}} {{.MemUsage}}'"]),
    Command("top", "top CONTAINER [ps OPTIONS]", "Display the running processes of a container", _stats_cmd("cmd_top"),
            interspersed=False, min_args=1, examples=["minicontainer top web", "minicontainer top web -o pid,rss,args"]),
    Command("inspect", "inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on containers or images",
            cmd_inspect, [Flag("format", "f", kind="str", metavar="string", help="Format output using a Go-like template"),
                          Flag("type", kind="str", metavar="string", help="Only inspect objects of the given type")],
            min_args=1, examples=["minicontainer inspect web",
                                  "minicontainer inspect -f '{{.NetworkSettings.IPAddress}}' web",
                                  "minicontainer inspect -f '{{.State.Pid}}' web"]),
    Command("logs", "logs [OPTIONS] CONTAINER", "Fetch the logs of a container", cmd_logs,
            [Flag("follow", "f", help="Follow log output"), Flag("timestamps", "t", help="Show timestamps"),
             Flag("tail", "n", kind="str", default="all", metavar="string", help="Number of lines to show from the end")],
            min_args=1, max_args=1, examples=["minicontainer logs web", "minicontainer logs -f --tail 10 web"]),
    Command("attach", "attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container",
            cmd_attach,
            [Flag("detach-keys", kind="str", metavar="string", help="Override the key sequence for detaching a container"),
             Flag("no-stdin", help="Do not attach STDIN")],
            min_args=1, max_args=1,
            examples=["minicontainer run -dit --name box busybox sh", "minicontainer attach box   # ctrl-p ctrl-q detaches"]),
    Command("exec", "exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", cmd_exec,
            [Flag("interactive", "i", help="Keep STDIN open even if not attached"), Flag("tty", "t", help="Allocate a pseudo-TTY"),
             Flag("workdir", "w", kind="str", metavar="string", help="Working directory inside the container"),
             Flag("env", "e", kind="list", metavar="list", help="Set environment variables"),
             Flag("user", "u", kind="str", metavar="string", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
             Flag("privileged", help="Give extended privileges to the command")],
            interspersed=False, min_args=2,
            examples=["minicontainer exec web ip addr", "minicontainer exec -it web sh"]),
    Command("images", "images [OPTIONS]", "List images", cmd_images,
            [Flag("quiet", "q", help="Only show image IDs"),
             Flag("format", kind="str", metavar="string", help="Format output using a custom template: 'table', "
                  "'table TEMPLATE', 'json', or a Go template")], max_args=0,
            examples=["minicontainer images", "minicontainer images -q",
                      "minicontainer images --format '{{.Repository}}:{{.Tag}} {{.Size}}'"]),
    Command("import", "import file|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image",
            cmd_import, min_args=1, max_args=2, examples=["minicontainer import rootfs.tar myimage:1.0"]),
    Command("rmi", "rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", cmd_rmi,
            [Flag("force", "f", help="Force removal of the image")], min_args=1, examples=["minicontainer rmi myimage:1.0"]),
    Command("events", "events [OPTIONS]", "Get real time events from the server", cmd_events,
            [Flag("filter", "f", kind="list", metavar="filter", help="Filter output based on conditions provided"),
             Flag("format", kind="str", metavar="string", help="Format output using a Go template"),
             Flag("since", kind="str", metavar="string", help="Show all events created since timestamp"),
             Flag("until", kind="str", metavar="string", help="Stream events until this timestamp")],
            max_args=0, repairs_rules=False,
            examples=["minicontainer events --since 10m --until 0s", "minicontainer events -f event=die"]),
    Command("pause", "pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
            cmd_pause, min_args=1, examples=["minicontainer pause web   # freezer.state FROZEN"]),
    Command("unpause", "unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
            cmd_unpause, min_args=1, examples=["minicontainer unpause web"]),
    Command("rename", "rename CONTAINER NEW_NAME", "Rename a container", cmd_rename, min_args=2, max_args=2,
            examples=["minicontainer rename web frontend"]),
    Command("tag", "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
            cmd_tag, min_args=2, max_args=2, examples=["minicontainer tag busybox lab/busybox:v1"]),
    Command("pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", image_cmds.cmd_pull,
            image_cmds.PULL_FLAGS, min_args=1, max_args=1,
            examples=["minicontainer pull 127.0.0.1:5000/alpine:3.19", "minicontainer pull --platform linux/arm64 alpine"]),
    Command("load", "load [OPTIONS]", "Load an image from a tar archive or STDIN", image_cmds.cmd_load,
            image_cmds.LOAD_FLAGS, max_args=0, examples=["minicontainer load -i image.tar", "minicontainer load < image.tar"]),
    Command("image", "image COMMAND", "Manage images", None, subcommands=_group("image_cmds")),
    Command("port", "port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
            cmd_port, min_args=1, max_args=2, examples=["minicontainer port web", "minicontainer port web 80/tcp"]),
    Command("cp", "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tminicontainer cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
            "Copy files/folders between a container and the local filesystem", cmd_cp,
            [Flag("archive", "a", help="Archive mode (copy all uid/gid information)"),
             Flag("follow-link", "L", help="Always follow symbol link in SRC_PATH"),
             Flag("quiet", "q", help="Suppress progress output during copy. Progress output is automatically "
                  "suppressed if no terminal is attached")], min_args=2, max_args=2,
            examples=["minicontainer cp ./notes.txt web:/tmp/", "minicontainer cp web:/etc/hosts ./hosts",
                      "minicontainer cp web:/var/log - | tar -tv   # a tar stream on stdout"]),
    Command("volume", "volume COMMAND", "Manage volumes", None, subcommands=_group("volume_cmds")),
    Command("system", "system COMMAND", "Manage minicontainer (the Docker Engine API service)", None,
            subcommands=_group("system_cmds")),
    Command("network", "network COMMAND", "Manage networks", None, subcommands=_group("network_cmds")),
    Command("explain", "explain CONTAINER", "Print what was done in the kernel to start a container, as a shell script",
            show_cmds.cmd_explain, min_args=1, max_args=1,
            examples=["minicontainer explain web", "minicontainer explain web > replay.sh"]),
    Command("conntrack", "conntrack [OPTIONS] [CONTAINER]",
            "List the kernel's tracked connections of our containers, and what NAT made of each",
            show_cmds.cmd_conntrack, [Flag("nat", help="Only the flows NAT changed (DNAT of a published port, MASQUERADE)")],
            max_args=1, examples=["minicontainer conntrack", "minicontainer conntrack --nat web"]),
    Command("trace", "trace --to CONTAINER[:PORT]|ADDR:PORT [OPTIONS] [-- PROBE COMMAND...]",
            "Follow a flow's packets through the kernel's rules: each chain, the rule that matched, NAT",
            show_cmds.cmd_trace,
            [Flag("to", kind="list", metavar="string", help="Where the packets go: CONTAINER[:PORT] or ADDR:PORT"),
             Flag("from", kind="str", metavar="string", help="Only packets from CONTAINER, host or ADDR"),
             Flag("proto", kind="str", default="tcp", metavar="string", help="tcp, udp or icmp"),
             Flag("count", kind="int", default=10, metavar="int", help="Stop after this many packets"),
             Flag("timeout", kind="int", default=10, metavar="int", help="Stop after this many seconds")],
            interspersed=False,
            examples=["minicontainer trace --to web:80 -- curl -s 127.0.0.1:8080",
                      "minicontainer trace --to 192.0.2.2:8080 --count 3   # then make the traffic yourself"]),
    Command("capture", "capture [OPTIONS] CONTAINER [FILTER...]",
            "Capture a container's packets with tcpdump, inside its namespace or on its veth's host end",
            show_cmds.cmd_capture,
            [Flag("host-side", help="Capture on the veth's host end (before the bridge and NAT) instead of eth0"),
             Flag("network", kind="str", metavar="string", help="The interface on this network (default: the first)"),
             Flag("count", "c", kind="int", default=0, metavar="int", help="Exit after this many packets")],
            min_args=1, interspersed=False,
            examples=["minicontainer capture web", "minicontainer capture --host-side -c 5 web icmp"]),
    Command("tour", "tour [--yes]", "Walk through cp, volumes, none/host/bridge networking and -p, showing the kernel side",
            show_cmds.cmd_tour, [Flag("yes", "y", help="Run straight through, without pausing between steps")], max_args=0,
            examples=["minicontainer tour", "minicontainer tour --yes"]),
    Command("completion", "completion bash", "Print the bash completion script", _completion, min_args=1, max_args=1,
            examples=["minicontainer completion bash > /etc/bash_completion.d/minicontainer",
                      "source <(minicontainer completion bash)"]),
    Command("version", "version", "Show the minicontainer version", cmd_version, max_args=0,
            examples=["minicontainer version", "minicontainer --version"]),
]}
