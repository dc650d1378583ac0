"""The per-container supervisor (Podman's conmon, in Python): start the container, relay its
output to the log, reap it, record how it exited, tear down, and remove it when --rm asked.

In the foreground (`run` without -d) the CLI process itself is the supervisor. With -d (and for
`start`) the CLI forks a detached supervisor and returns once the container runs.
"""

from __future__ import annotations

import json
import os
import sys

from minicontainer import faults, trace
from minicontainer.faults import checkpoint
from minicontainer.errors import DaemonError, MCError, NoSuchContainer, StartError
from minicontainer.runtime import liveness
from minicontainer.runtime.container_plan import container_plan, namespace_kinds
from minicontainer.runtime.logs import LogWriter, rfc3339_now
from minicontainer.runtime.relay import Relay, terminal_winsize
from minicontainer.runtime.spawn import Launch, Started, spawn_container
from minicontainer.store.containers import ContainerRecord


def container_env(rec: ContainerRecord) -> list[str]:
    """What the process sees: Config.Env plus HOSTNAME (and TERM with a tty), as Docker adds them."""
    env = list(rec.config.get("Env") or [])
    keys = {e.partition("=")[0] for e in env}
    extra = [f"HOSTNAME={rec.config['Hostname']}"]
    if rec.config.get("Tty"):
        extra.append("TERM=xterm")
    return [e for e in extra if e.partition("=")[0] not in keys] + env


class Supervisor:
    def __init__(self, runtime, rec: ContainerRecord, foreground: bool):
        self.rt = runtime
        self.rec = rec
        self.foreground = foreground
        self.started: Started | None = None
        self.log: LogWriter | None = None

    def start(self) -> None:
        """Start the container; on failure record the error (and remove it with --rm) and raise.
        Every step it applies goes to the container's trace (`explain CONTAINER` shows it)."""
        rec, store = self.rec, self.rt.containers
        cid = rec.id
        self._claim()
        launch = launch_for(rec, self.foreground)
        mounts = rec.extra.get("mounts", [])
        if mounts:
            from minicontainer.runtime.volumes import make_bind_sources
            make_bind_sources(mounts)
            checkpoint("bind sources made")
        plan = plan_for(self.rt, rec)
        self.log = LogWriter(store.log_path(cid))
        trace.record_to(store.path(cid, TRACE_FILE))
        try:
            ready = self._connect_network()
            for line in file_lines(store, rec, _read_files(store, rec.id)):
                trace.write(line)
            join = self._joined_namespaces()
            kinds = namespace_kinds(rec.host_config["NetworkMode"])
            trace.write(unshare_line(kinds, self._joined_pid))
            trace.write(exec_line(launch))
            try:
                self.started = spawn_container(kinds, plan, launch, ready, join)
            finally:
                for fd in join.values():
                    os.close(fd)
            trace.write({"phase": "started", "pid": self.started.pid})
            checkpoint("container started")
        except BaseException as exc:
            trace.write({"phase": "failed", "error": str(exc)})
            trace.stop()
            self.log.close()
            release_network(self.rt, rec)
            if isinstance(exc, Exception) and not isinstance(exc, MCError):
                exc = StartError(f"failed to set up the container: {exc}", 125)
            if isinstance(exc, MCError):
                self._record_start_failure(exc)
                raise exc from None
            raise
        trace.stop()
        me = os.getpid()
        with store.lock(cid):
            rec.status, rec.pid, rec.error, rec.exit_code = "running", self.started.pid, "", 0
            rec.started_at, rec.init_start = rfc3339_now(), liveness.start_ticks(self.started.pid)
            rec.supervisor = {"pid": me, "start": liveness.start_ticks(me)}
            store.save(rec)
        checkpoint("recorded as running")

    def _claim(self) -> None:
        """Write our identity into the record before touching the host: if we are killed from here
        on, the next command sees a dead supervisor and undoes whatever the journal holds."""
        store, me = self.rt.containers, os.getpid()
        with store.lock(self.rec.id):
            self.rec.supervisor = {"pid": me, "start": liveness.start_ticks(me)}
            store.save(self.rec)
        checkpoint("supervisor recorded")

    def _joined_namespaces(self) -> dict[str, int]:
        """--net container:ID: pin that container's network namespace for the child to setns into."""
        mode = self.rec.host_config["NetworkMode"]
        self._joined_pid = 0
        if not mode.startswith("container:"):
            return {}
        from minicontainer.kernel.namespaces import open_namespaces
        target = self.rt.get(mode.partition(":")[2])
        if not target.running or not liveness.is_alive(target.pid, target.init_start):
            raise StartError(f"cannot join network of a non running container: {target.id}", 125)
        self._joined_pid = target.pid
        return open_namespaces(target.pid, ["net"])

    def _connect_network(self):
        """Bridge mode: lease an address now; return the callback that wires the veth once the child exists."""
        rec, store = self.rec, self.rt.containers
        mode = rec.host_config["NetworkMode"]
        if mode in ("none", "host") or mode.startswith("container:"):
            return None
        from minicontainer.network.attach import attach, reserve
        from minicontainer.network.networks import NetworkStore
        from minicontainer.runtime.etcfiles import hosts
        from minicontainer.network.ports import conflicts, publish
        networks = NetworkStore(self.rt.root)
        net = networks.get(mode)
        wanted = wanted_bindings(rec)
        clash = wanted and conflicts(wanted, [p for r in self.rt.list() if r.id != rec.id for p in r.extra.get("ports", [])])
        if clash:
            raise DaemonError(f"driver failed programming external connectivity on endpoint {rec.name} "
                              f"({rec.id[:12]}): Bind for {clash['host_ip'] or '0.0.0.0'}:{clash['host_port']} "
                              "failed: port is already allocated", 125)
        ep = reserve(networks, net, rec.id)
        checkpoint("address leased")
        with store.lock(rec.id):
            rec.extra["endpoint"] = ep
            store.save(rec)
        checkpoint("endpoint recorded")
        with open(store.path(rec.id, "hosts"), "w") as f:
            f.write(hosts(ep["IPAddress"], rec.config["Hostname"]))
        journal = journal_for(store, rec.id)

        def ready(pid: int) -> None:
            with trace.phase("host"):
                attach(journal, ep, pid, rec.id)
                if wanted:
                    ports = publish(journal, net, ep, wanted)
                    with store.lock(rec.id):
                        rec.extra["ports"] = ports
                        store.save(rec)
                    checkpoint("ports recorded")
        return ready

    def _record_start_failure(self, exc: MCError) -> None:
        store, rec = self.rt.containers, self.rec
        with store.lock(rec.id):
            rec.status, rec.error, rec.exit_code = "created", str(exc.args[0]), exc.exit_code
            rec.supervisor = None
            store.save(rec)
        if rec.host_config.get("AutoRemove"):
            self.rt.delete(rec, volumes=True)  # --rm takes the anonymous volumes too

    def wait(self) -> int:
        """Relay output until the container exits; record the exit; tear down. Returns the exit code."""
        started = self.started
        interactive = self.foreground and self.rec.config.get("OpenStdin", False)
        try:
            Relay(started, self.log, echo=self.foreground, forward_stdin=interactive).run()
        finally:
            self.log.close()
            _, status = os.waitpid(started.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        code = 128 - code if code < 0 else code  # killed by signal N: 128+N, as a shell reports it
        self.finish(code)
        return code

    def finish(self, code: int) -> None:
        store, rec = self.rt.containers, self.rec
        checkpoint("container exited")
        release_network(self.rt, rec)
        checkpoint("network released")
        try:
            with store.lock(rec.id):
                rec = store.load(rec.id)
                rec.status, rec.exit_code, rec.pid, rec.finished_at = "exited", code, 0, rfc3339_now()
                rec.supervisor = None
                rec.extra.pop("endpoint", None)
                rec.extra.pop("ports", None)
                store.save(rec)
        except NoSuchContainer:
            return  # removed (rm -f) while it ran
        self.rec = rec
        if rec.host_config.get("AutoRemove"):
            self.rt.delete(rec, volumes=True)  # --rm takes the anonymous volumes too


TRACE_FILE = "trace.jsonl"


def journal_for(store, cid: str):
    """The journal of a container's host-side steps (teardown, the reaper, rm --explain, network show)."""
    from minicontainer.plan import Journal
    return Journal(store.path(cid, "journal.json"))


def launch_for(rec: ContainerRecord, foreground: bool) -> Launch:
    """What the container's pid 1 runs, and how its stdio is wired (stdin only in the foreground)."""
    return Launch(argv=rec.command, env=container_env(rec), cwd=rec.config.get("WorkingDir") or "/",
                  user=rec.config.get("User") or "", tty=rec.config.get("Tty", False),
                  stdin=foreground and rec.config.get("OpenStdin", False),
                  winsize=terminal_winsize() if foreground else None)


def wanted_bindings(rec: ContainerRecord) -> list[dict]:
    """HostConfig.PortBindings as the port publisher takes them."""
    return [{"proto": key.split("/")[1], "container_port": int(key.split("/")[0]), "host_ip": b["HostIp"],
             "host_port": int(b["HostPort"] or 0)}
            for key, binds in rec.host_config.get("PortBindings", {}).items() for b in binds]


def plan_for(runtime, rec: ContainerRecord):
    """The steps inside the container's new namespaces, from its record (run, start and --dry-run)."""
    store = runtime.containers
    mounts = rec.extra.get("mounts", [])
    volume_steps = []
    if mounts:
        from minicontainer.runtime.volumes import mount_steps
        volume_steps = mount_steps(mounts, store.path(rec.id, "merged"))
    return container_plan(
        lower=runtime.images.lower_dirs(runtime.images.get(rec.image_id)), upper=store.path(rec.id, "upper"),
        work=store.path(rec.id, "work"), merged=store.path(rec.id, "merged"), hostname=rec.config["Hostname"],
        private_net="net" in namespace_kinds(rec.host_config["NetworkMode"]),
        etc_files={f"/etc/{n}": store.path(rec.id, n) for n in ("hostname", "hosts", "resolv.conf")},
        volume_steps=volume_steps)


def _read_files(store, cid: str) -> dict[str, str]:
    texts = {}
    for name in ("hostname", "hosts", "resolv.conf"):
        with open(store.path(cid, name)) as f:
            texts[name] = f.read()
    return texts


def file_lines(store, rec: ContainerRecord, etc_texts: dict[str, str]) -> list[dict]:
    """The files the container's view is built from, as trace lines: its overlay directories, the
    /etc files it gets (written at create, /etc/hosts again once its address is known), bind sources."""
    import shlex
    dirs = " ".join(store.path(rec.id, d) for d in ("upper", "work", "merged"))
    lines = [{"phase": "files", "step": "MakeDirs", "why": "the container's writable layer, overlay work dir and mount point",
              "sh": f"mkdir -p {dirs}"}]
    for name, text in etc_texts.items():
        lines.append({"phase": "files", "step": "WriteFile", "why": f"its /etc/{name}",
                      "sh": f"cat > {store.path(rec.id, name)} <<'END'\n{text.rstrip(chr(10))}\nEND"})
    sources = [m["source"] for m in rec.extra.get("mounts", []) if m["type"] != "tmpfs" and os.path.isdir(m["source"])]
    if sources:
        lines.append({"phase": "files", "step": "MakeDirs", "why": "volume and bind mount sources (Docker creates a missing -v host dir)",
                      "sh": "mkdir -p " + " ".join(shlex.quote(src) for src in sources)})
    return lines


def unshare_line(kinds: list[str], join_pid: int = 0) -> dict:
    """The trace line of the namespaces: those unshared, and for container:ID the network one joined."""
    line = {"phase": "unshare", "kinds": kinds}
    if join_pid:
        line["join"] = {"net": f"/proc/{join_pid}/ns/net"}
    return line


def exec_line(launch: Launch) -> dict:
    return {"phase": "exec", "argv": launch.argv, "env": launch.env, "cwd": launch.cwd, "user": launch.user}


def release_network(runtime, rec: ContainerRecord) -> list[str]:
    """Undo the container's host-side network steps (journal) and free its address lease."""
    journal = journal_for(runtime.containers, rec.id)
    ep = rec.extra.get("endpoint")
    if not ep and not os.path.exists(journal.path):
        return []
    from minicontainer.network.attach import detach
    from minicontainer.network.networks import NetworkStore
    return detach(NetworkStore(runtime.root), journal, ep, rec.id)


def start_detached(runtime, rec: ContainerRecord) -> None:
    """Fork a detached supervisor (double fork + setsid) and return once the container runs."""
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setsid()
            if os.fork():
                os._exit(0)
            faults.become("supervisor")
            _become_daemon(w)
            sup = Supervisor(runtime, rec, foreground=False)
            try:
                sup.start()
            except MCError as exc:
                os.write(w, json.dumps({"error": exc.args[0], "code": exc.exit_code}).encode())
                os._exit(0)
            os.write(w, b"{}")
            os.close(w)
            sup.wait()
        except BaseException as exc:  # never let a supervisor fall back into the CLI's code
            try:
                os.write(w, json.dumps({"error": f"supervisor: {exc}", "code": 125}).encode())
            except OSError:
                pass
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    report = b""
    while chunk := os.read(r, 4096):
        report += chunk
    os.close(r)
    result = json.loads(report or b'{"error": "supervisor exited before starting the container", "code": 125}')
    if "error" in result:
        if not report:  # killed: undo what it did now rather than at the next command
            runtime.reap_if_dead(runtime.containers.load(rec.id))
        raise StartError(result["error"], result["code"])


def _become_daemon(keep: int) -> None:
    """Detach stdio (a caller capturing our output must not wait for the container) and close other fds."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    sys.stdout = sys.stderr = open(os.devnull, "w")
