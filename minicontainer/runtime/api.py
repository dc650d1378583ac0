"""Runtime: the operations behind every command (run, start, stop, rm, exec, logs, ps, inspect...).

Each command is a short-lived process; the only long-lived ones are the per-container supervisors.
Any command that looks at a container first checks that its supervisor is still alive (pid plus
start time) and, if it died, reaps the container: kills what is left and records it as exited.
"""

from __future__ import annotations

import os
import signal
import time

from minicontainer.clock import now_rfc3339
from minicontainer.errors import DaemonError, MCError, NoSuchContainer
from minicontainer.faults import checkpoint
from minicontainer.kernel import proc
from minicontainer.specs.process import merge_env
from minicontainer.store.containers import ContainerRecord, ContainerStore, record_in
from minicontainer.store.root import StateRoot

TYPE_CHECKING = False  # typing costs ms to import on every command; mypy takes any TYPE_CHECKING as true
if TYPE_CHECKING:  # what only creating a container needs is imported when it does (ps starts faster)
    from minicontainer.images.store import ImageStore
    from minicontainer.specs.run import RunSpec

EXEC_NAMESPACES = ["ipc", "uts", "net", "pid", "mnt"]  # mnt last: it changes what paths mean


class Runtime:
    def __init__(self, root: str | None = None):
        self.root = StateRoot(root)
        self.root.ensure()
        self.containers = ContainerStore(self.root)
        from minicontainer.network.repair import follow_own_changes
        follow_own_changes(self.root)  # our own rule changes keep the last firewall check good
        self._images: ImageStore | None = None
        self.warnings: list[str] = []  # what the last create warned of (the Engine API's Warnings)
        # the supervisors recover() has just found alive, for the list() right after it (ps): taken
        # once, and only while this process has written no record since
        self._alive: tuple[int, set[tuple[int, int]]] | None = None

    @property
    def images(self) -> ImageStore:
        """The image store, opened when a command first needs it."""
        if self._images is None:
            from minicontainer.images.store import ImageStore
            self._images = ImageStore(self.root)
        return self._images

    # ------------------------------------------------------------------ create
    def network_mode(self, value: str, look_only: bool = False):
        """The driver of a --network value (network/modes.py); look_only: make no record (--dry-run)."""
        from minicontainer.network.modes import mode_for
        from minicontainer.network.networks import NetworkStore
        return mode_for(value, NetworkStore(self.root), self.containers, look_only)

    def create(self, spec: RunSpec) -> ContainerRecord:
        spec = self.complete(spec)
        rec = self.new_record(spec)
        self._check_links(spec)
        if spec.mounts:
            from minicontainer.runtime.volumes import check_sources, mount_records
            check_sources(spec.mounts)  # a missing --mount source fails before anything exists
            rec.mounts = mount_records(self.volumes, spec.mounts)
        self._claim_name(rec, spec.name)
        try:
            if spec.mounts:
                from minicontainer.runtime.volumes import make_volumes
                make_volumes(self.volumes, spec.mounts, rec.mounts,
                             self.images.lower_dirs(self.images.get(rec.image_id)))
            self._write_files(rec)
            self.containers.commit(rec)
        except BaseException:
            self.delete(rec, volumes=True)
            raise
        self.event(rec, "create")
        return rec

    def event(self, rec: ContainerRecord, action: str, **extra: str) -> None:
        """Note what happened to rec in the event journal (GET /events)."""
        from minicontainer.store import events
        events.record(self.root.run, "container", action, rec.id,
                      {**(rec.config.get("Labels") or {}), "image": rec.image_ref, "name": rec.name, **extra})

    def create_with_image(self, spec: RunSpec, pull_policy: str = "missing", progress=None) -> ContainerRecord:
        """create() once the image is here (ensure_image), the network mode's refusals and
        "invalid reference format" first, as Docker's daemon checks them before it looks for the image.
        progress: for a pull, a zero-argument function making the progress printer (made only then)."""
        from minicontainer.specs.refs import normalize
        self.network_mode(spec.network).validate(spec)
        normalize(spec.image)
        self.ensure_image(spec.image, pull_policy, progress)
        return self.create(spec)

    def ensure_image(self, ref: str, policy: str = "missing", progress=None) -> None:
        """Docker's --pull policy: pull the image unless it is here ("missing"), always, or never.
        progress: None, or a zero-argument function making the printer a pull reports to (a
        cli/progress.PullProgress), called only when there is something to pull."""
        from minicontainer.errors import NoSuchImage, UsageError
        from minicontainer.specs.refs import normalize
        if policy not in ("missing", "always", "never"):
            raise UsageError(f'invalid pull option: \'{policy}\': must be one of "always", "missing" or "never"')
        if policy != "always":
            try:
                self.images.get(ref)
                return
            except NoSuchImage:
                if policy == "never":
                    raise DaemonError(f"No such image: {normalize(ref)}", 125) from None
        shown = progress() if progress is not None else None
        if policy == "missing" and shown is not None:
            shown.line(f"Unable to find image '{normalize(ref)}' locally")
        try:
            self.pull(ref, shown)
        except MCError as exc:  # any failure of run's pull is a daemon error: exit 125
            exc.exit_code = 125
            raise

    def complete(self, spec: RunSpec) -> RunSpec:
        """The spec with what the image and the network mode add: the image's VOLUMEs as anonymous
        volumes, -P's exposed ports, container:NAME resolved to container:ID. A new value."""
        import dataclasses
        image = self.images.get(spec.image)
        mode = self.network_mode(spec.network)
        mode.validate(spec)
        publish = spec.publish
        if spec.publish_all:
            exposed = {**(image.config.get("ExposedPorts") or {}), **{key: {} for key in spec.expose}}
            publish = publish + _exposed_bindings(exposed, publish)
        resources = dataclasses.replace(spec.resources)
        self.warnings = check_resources(resources)
        return dataclasses.replace(spec, mounts=spec.mounts + _image_volumes(image.config.get("Volumes") or {}, spec.mounts),
                                   publish=publish, network=mode.recorded(), resources=resources)

    def new_record(self, spec: RunSpec) -> ContainerRecord:
        """The container's record from its completed spec and its image, not saved yet (create saves
        it; --dry-run only looks)."""
        image = self.images.get(spec.image)
        if spec.entrypoint is not None:  # --entrypoint replaces the image's and drops its Cmd (Docker)
            given = [spec.entrypoint] if isinstance(spec.entrypoint, str) else list(spec.entrypoint)
            entrypoint, cmd = ([e for e in given if e] or None), (spec.command or None)
        else:
            entrypoint, cmd = image.config.get("Entrypoint"), spec.command or image.config.get("Cmd")
        if not entrypoint and not cmd:
            raise DaemonError("no command specified", 125)
        cid = os.urandom(32).hex()
        mode = self.network_mode(spec.network)
        hostname = spec.hostname or (os.uname().nodename if spec.uts == "host" else mode.default_hostname(cid))
        interactive, attached = spec.interactive, not spec.detach
        config = {
            "Hostname": hostname, "Domainname": spec.domainname, "User": spec.user or image.config.get("User") or "",
            "AttachStdin": interactive and attached, "AttachStdout": attached, "AttachStderr": attached,
            "Tty": spec.tty, "OpenStdin": interactive, "StdinOnce": interactive and attached,
            "Env": merge_env(list(image.config.get("Env") or []), spec.env), "Cmd": cmd, "Image": spec.image,
            "WorkingDir": spec.workdir or image.config.get("WorkingDir") or "", "Entrypoint": entrypoint,
            "ExposedPorts": _exposed({**(image.config.get("ExposedPorts") or {}), **{k: {} for k in spec.expose}},
                                     spec.publish),
            "Volumes": image.config.get("Volumes") or None,
            "Labels": {**(image.config.get("Labels") or {}), **spec.labels},
        }
        return ContainerRecord(id=cid, name=spec.name or "", created=now_rfc3339(), image_id=image.id,
                               image_ref=spec.image, config=config,
                               host_config={"NetworkMode": spec.network, "AutoRemove": spec.remove, "UTSMode": spec.uts,
                                            "PidMode": spec.pid,
                                            "Binds": spec.binds or None, "Dns": list(spec.dns.servers),
                                            "DnsSearch": list(spec.dns.search), "DnsOptions": list(spec.dns.options),
                                            "ExtraHosts": list(spec.dns.extra_hosts) or None,
                                            "Links": list(spec.dns.links) or None,
                                            "CapAdd": list(spec.security.cap_add) or None,
                                            "CapDrop": list(spec.security.cap_drop) or None,
                                            "Privileged": spec.security.privileged,
                                            "SecurityOpt": list(spec.security.security_opt) or None,
                                            **spec.resources.host_config(),
                                            "ReadonlyRootfs": spec.read_only,
                                            "Ulimits": list(spec.ulimits), "RestartPolicy": spec.restart.json(),
                                            **({"Init": True} if spec.init else {}),
                                            **({"Sysctls": dict(spec.sysctls)} if spec.sysctls else {})},
                               port_bindings=list(spec.publish) if mode.publishes else [],
                               networks=mode.attachments(spec))

    @property
    def volumes(self):
        from minicontainer.store.volumes import VolumeStore
        return VolumeStore(self.root.lib)

    def remove_anonymous_volumes(self, rec: ContainerRecord) -> None:
        if rec.mounts:
            from minicontainer.runtime.volumes import remove_anonymous
            remove_anonymous(self.volumes, rec.mounts)

    def delete(self, rec: ContainerRecord, volumes: bool) -> None:
        """Remove the container's record and files and, with volumes, its anonymous volumes. The
        choice is written down first: recover() finishes a removal a crash cut short the same way."""
        if volumes and rec.mounts:
            rec.remove_volumes = True
            self.containers.save(rec)
        self.containers.remove(rec, then=self.remove_anonymous_volumes if volumes else None)
        if not rec.creator:  # a half-made container never was, for the events either
            self.event(rec, "destroy")

    # ------------------------------------------------------------------ after a crash
    def recover(self, repair_rules: bool = True) -> list[str]:
        """Bring the root back to a clean state after commands or supervisors were killed: finish
        removals, drop half-created containers and names whose container is gone, reap containers
        whose supervisor died (undoing their host-side steps), free leases of dead holders, remove
        the marking tables of killed traces, and add back firewall rules of ours that someone deleted. Returns the commands of that last part."""
        store = self.containers
        debris = store.debris()
        for cid in debris["gone"]:
            rec = record_in(store.gone_dir(cid))
            wants = rec is not None and rec.remove_volumes
            store.finish_removal(cid, self.remove_anonymous_volumes if wants else None)
        for entry in debris["staging"]:
            import shutil
            shutil.rmtree(os.path.join(self.root.containers, entry), ignore_errors=True)
        alive = set()  # (pid, start) of the supervisors found alive
        for cid, claim in store.claims().items():
            creator, sup, changing = claim["creator"], claim["supervisor"], claim["changing"]
            if creator and not proc.is_alive(creator["pid"], creator["start"]):
                try:
                    with store.lock(cid):
                        self.delete(store.load(cid), volumes=True)  # never finished: its volumes were its own
                except NoSuchContainer:
                    pass
                continue
            if sup and proc.is_alive(sup["pid"], sup["start"]):
                alive.add((sup["pid"], sup["start"]))
            elif sup:
                try:
                    rec = self.reap_if_dead(store.load(cid))
                except NoSuchContainer:
                    continue
                changing = rec.changing if rec is not None else None
            if changing:
                from minicontainer.runtime.connect import settle_interrupted
                try:
                    settle_interrupted(self, store.load(cid))  # a network connect or disconnect cut short
                except NoSuchContainer:
                    pass
        self._alive = (store.writes, alive)
        for name in debris["names"]:
            store.drop_dangling_name(name)
        from minicontainer.network.networks import NetworkStore
        # The supervisors just found alive hold most leases: no second look at their /proc entries.
        NetworkStore(self.root).reclaim_leases(alive)
        from minicontainer.network.tracemarks import sweep
        sweep(self.root.lib)  # the marking table of a trace that was killed
        if not repair_rules:
            return []
        from minicontainer.network.repair import repair
        return repair(self.root, store)

    def _claim_name(self, rec: ContainerRecord, wanted: str | None) -> None:
        if wanted:
            rec.name = wanted
            try:
                self.containers.create(rec)
                return
            except DaemonError:
                # The holder may be a --rm container whose supervisor died: reap it, then retry once.
                holder = self._find(wanted)
                if holder is not None and self.reap_if_dead(holder) is not None:
                    raise
            self.containers.create(rec)
            return
        for attempt in range(20):
            from minicontainer.specs.names import random_name
            rec.name = random_name() + (str(attempt) if attempt >= 10 else "")
            try:
                self.containers.create(rec)
                return
            except DaemonError:
                continue
        raise DaemonError("could not find a free container name", 125)

    def _find(self, ref: str) -> ContainerRecord | None:
        try:
            return self.containers.load(self.containers.resolve(ref))
        except NoSuchContainer:
            return None

    def _check_links(self, spec: RunSpec) -> None:
        """--link NAME: the container must exist now, and not share the host's network (registerLinks)."""
        for link in spec.dns.links:
            name = link.partition(":")[0]
            target = self._find(name)
            if target is None:
                raise DaemonError(f"could not get container for {name}: No such container: {name}", 125)
            if target.network_mode == "host":
                raise DaemonError("conflicting options: host type networking can't be used with links. "
                                  "This would result in undefined behavior", 125)

    def _write_files(self, rec: ContainerRecord) -> None:
        store = self.containers
        for d in ("upper", "work", "merged"):
            os.mkdir(store.path(rec.id, d), 0o755)
        host_files = self.network_mode(rec.network_mode).host_files
        from minicontainer.runtime import etcfiles
        for name, text in etcfiles.container_files(rec, host_files).items():
            with open(store.path(rec.id, name), "w") as f:
                f.write(text)

    # ------------------------------------------------------------------ lookup and reaping
    def get(self, ref: str) -> ContainerRecord:
        rec = self.containers.load(self.containers.resolve(ref))
        reaped = self.reap_if_dead(rec)
        if reaped is None:
            raise NoSuchContainer(ref)
        return reaped

    def list(self, all_: bool = False) -> list[ContainerRecord]:
        just_seen, self._alive = self._alive, None
        alive = just_seen[1] if just_seen and just_seen[0] == self.containers.writes else set()

        def checked(r: ContainerRecord) -> ContainerRecord | None:  # recover() has just seen those alive
            sup = r.supervisor
            return r if sup and (sup["pid"], sup["start"]) in alive else self.reap_if_dead(r)

        recs = [r for r in map(checked, self.containers.all()) if r is not None and not r.creator]  # being created: not there yet
        if not all_:
            recs = [r for r in recs if r.running]
        return sorted(recs, key=lambda r: r.created, reverse=True)

    def reap_if_dead(self, rec: ContainerRecord) -> ContainerRecord | None:
        """If rec's supervisor died, clean up after it. Returns the fresh record, None if removed."""
        sup = rec.supervisor
        if not sup or proc.is_alive(sup["pid"], sup["start"]):
            return rec
        store = self.containers
        try:
            with store.lock(rec.id):
                rec = store.load(rec.id)
                sup = rec.supervisor
                if not sup or proc.is_alive(sup["pid"], sup["start"]):
                    return rec
                if rec.status == "restarting":
                    self._settle_cut_restart(rec)
                    return rec
                killed = self._kill_and_wait(rec, signal.SIGKILL, None)
                from minicontainer.runtime.supervisor import release_host
                rec.teardown_errors = release_host(self, rec)
                rec.endpoints, rec.ports, rec.changing = [], [], None
                if rec.running:  # killed by us, or by an rm -f that took the teardown (SIGKILL): 137
                    rec.status, rec.exit_code = "exited", 137 if killed or rec.removing else 255
                    rec.error = "supervisor died; container reaped"
                    rec.finished_at = now_rfc3339()
                    self.event(rec, "die", exitCode=str(rec.exit_code))
                else:  # it died while starting the container: Docker's state for a failed start
                    rec.exit_code, rec.error = 128, "supervisor died while starting the container"
                rec.pid, rec.supervisor, rec.paused, rec.removing = 0, None, False, None
                store.save(rec)
        except NoSuchContainer:
            return None
        if rec.host_config.get("AutoRemove"):
            from minicontainer.store import waiters
            waiters.tell(self.root.run, rec.id, rec.exit_code)  # an API `wait?condition=removed` reads it there
            self.delete(rec, volumes=True)  # --rm takes the anonymous volumes too
            return None
        return rec

    def _kill_and_wait(self, rec: ContainerRecord, sig: int, timeout: float | None) -> bool:
        """Signal the container's pid 1 and wait for it to exit; False if it was already gone."""
        fd = proc.open_pidfd(rec.pid, rec.init_start)
        if fd is None:
            return False
        try:
            signal.pidfd_send_signal(fd, sig)
            self._thaw_for_signal(rec)
            return proc.wait_pidfd(fd, timeout)
        finally:
            os.close(fd)

    def current(self, cid: str) -> ContainerRecord | None:
        """The container's record as it is now (reaped first if its supervisor died); None once removed."""
        try:
            return self.reap_if_dead(self.containers.load(cid))
        except NoSuchContainer:
            return None

    def _wait_not_running(self, cid: str, timeout: float | None = None) -> ContainerRecord | None:
        """Poll the record until the supervisor has recorded the exit (or reap it if it died)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            rec = self.current(cid)
            if rec is None or not rec.running:
                return rec
            if deadline is not None and time.monotonic() > deadline:
                return rec
            time.sleep(0.01)

    # ------------------------------------------------------------------ lifecycle
    def start(self, ref: str) -> None:
        from minicontainer.runtime.supervisor import start_detached
        rec = self.get(ref)
        if not rec.running:
            start_detached(self, rec)

    def _stopped_by_user(self, rec: ContainerRecord) -> ContainerRecord:
        """Written before the signal: its supervisor must not restart it (Docker's stop and kill
        cancel the restart policy until the next start); a restart pending is called off."""
        with self.containers.lock(rec.id):
            rec = self.containers.load(rec.id)
            rec.stopped_by_user = True
            if rec.status == "restarting":
                rec.status, rec.supervisor = "exited", None
            self.containers.save(rec)
        return rec

    def stop(self, ref: str, timeout: float = 10) -> list[str]:
        """SIGTERM, then SIGKILL after timeout; returns what its teardown could not undo."""
        rec = self.get(ref)
        if rec.status == "restarting":
            self._call_off_restart(rec)
            return []
        if not rec.running:
            return []
        if _restarts(rec):
            rec = self._stopped_by_user(rec)
        fd = proc.open_pidfd(rec.pid, rec.init_start)
        if fd is not None:
            try:
                signal.pidfd_send_signal(fd, signal.SIGTERM)
                self._thaw_for_signal(rec)
                if not proc.wait_pidfd(fd, timeout):
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    proc.wait_pidfd(fd, None)
            finally:
                os.close(fd)
        last = self._wait_not_running(rec.id)
        return last.teardown_errors if last is not None else []

    def pause(self, ref: str) -> None:
        """`pause`: freeze the container's cgroup (freezer.state, or cgroup.freeze on v2), as runc does."""
        self._freeze(ref, True)

    def unpause(self, ref: str) -> None:
        self._freeze(ref, False)

    def _freeze(self, ref: str, frozen: bool) -> None:
        rec = self.get(ref)
        if not rec.running:
            raise DaemonError(f"Container {rec.id} is not running", 1)
        if rec.paused == frozen:
            raise DaemonError(f"Container {rec.id} is " + ("already paused" if frozen else "not paused"), 1)
        step = self.cgroup(rec)
        try:
            if step is None or not step.freeze(frozen):
                raise DaemonError("cannot pause: this machine has no freezer cgroup", 1)
        except OSError as exc:
            raise DaemonError(f"cannot {'pause' if frozen else 'unpause'} container {rec.id}: {exc}", 1) from None
        self.event(self._record_paused(rec.id, frozen), "pause" if frozen else "unpause")

    def _record_paused(self, cid: str, paused: bool) -> ContainerRecord:
        with self.containers.lock(cid):
            rec = self.containers.load(cid)
            rec.paused = paused
            self.containers.save(rec)
        return rec

    def _thaw_for_signal(self, rec: ContainerRecord, record: bool = False) -> None:
        """A frozen process takes a signal only once thawed (v1's freezer even holds SIGKILL): after
        stop, kill or rm -f sent theirs, the container runs on. record: it may outlive the signal
        (kill -s HUP), so the record says it is no longer paused; else its exit says so, and the
        caller may hold the container's lock (the reaper)."""
        step = self.cgroup(rec) if rec.paused else None
        if step is None:
            return
        try:
            thawed = step.freeze(False)
        except OSError:
            return  # its cgroup went with it
        if thawed and record:
            self._record_paused(rec.id, False)

    def rename(self, ref: str, new: str) -> None:
        """`rename`: Docker's checks, then the store's claim of the new name. Its embedded DNS
        answers to the new name at once (the name book reads the records)."""
        from minicontainer.specs.names import validate_name
        rec = self.get(ref)
        new = validate_name(new)
        if new == rec.name:
            raise DaemonError("Renaming a container with the same name as its current name", 1)
        old = self.containers.rename(rec.id, new)
        rec.name = new
        self.event(rec, "rename", oldName="/" + old)

    def restart(self, ref: str, timeout: float = 10) -> None:
        self.stop(ref, timeout)
        self.start(ref)

    def kill(self, ref: str, sig: int = signal.SIGKILL) -> None:
        rec = self.get(ref)
        fd = proc.open_pidfd(rec.pid, rec.init_start) if rec.running else None
        if fd is None:
            raise DaemonError(f"Cannot kill container: {ref}: Container {rec.id} is not running")
        if _restarts(rec):
            self._stopped_by_user(rec)
        try:
            signal.pidfd_send_signal(fd, sig)
            self._thaw_for_signal(rec, record=True)
            if sig == signal.SIGKILL:  # Docker's daemon waits for a SIGKILL to take effect; other signals, not
                proc.wait_pidfd(fd, None)
        finally:
            os.close(fd)
        if sig == signal.SIGKILL:
            self._wait_not_running(rec.id)

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> list[str]:
        """Remove the container (-f: kill it first); returns what its teardown could not undo."""
        rec = self.get(ref)
        errors: list[str] = []
        if rec.status == "restarting" and not force:
            raise DaemonError(f"You cannot remove a restarting container {rec.id}. "
                              "Stop the container before attempting removal or force remove")
        if rec.status == "restarting":
            rec = self._call_off_restart(rec)
        if rec.running:
            if not force:
                raise DaemonError(f"You cannot remove a running container {rec.id}. "
                                  "Stop the container before attempting removal or force remove")
            rec = self._take_teardown(rec)
            self._kill_and_wait(rec, signal.SIGKILL, None)
            checkpoint("container killed")
            rec = self._wait_not_running(rec.id)
            checkpoint("teardown seen")
            if rec is None:
                return errors  # it was a --rm container: its supervisor removed it
            errors = rec.teardown_errors
        try:
            with self.containers.lock(rec.id):
                self.delete(self.containers.load(rec.id), volumes)
        except NoSuchContainer:
            pass
        return errors

    def _call_off_restart(self, rec: ContainerRecord) -> ContainerRecord:
        """stop or rm -f of a restarting container: no start after the delay, and a start under way
        is cut short: its supervisor is killed and the journal undone, as the reaper does (the crash
        path). The container stays exited."""
        sup = rec.supervisor
        rec = self._stopped_by_user(rec)  # a supervisor still in the delay will not start it
        fd = proc.open_pidfd(sup["pid"], sup["start"]) if sup else None
        if fd is None:
            return rec
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            proc.wait_pidfd(fd, None)
        finally:
            os.close(fd)
        with self.containers.lock(rec.id):
            rec = self.containers.load(rec.id)
            self._settle_cut_restart(rec)
        return rec

    def _settle_cut_restart(self, rec: ContainerRecord) -> None:
        """Its supervisor is gone while restarting (the caller holds the lock): in the delay nothing
        was set up; in the start again, the journal holds what it did, the container perhaps."""
        from minicontainer.runtime.supervisor import release_host
        self._kill_and_wait(rec, signal.SIGKILL, None)
        rec.teardown_errors = release_host(self, rec)
        if rec.running:  # recorded running just before it was killed
            rec.exit_code, rec.finished_at = 137, now_rfc3339()
        rec.status, rec.supervisor, rec.pid, rec.endpoints, rec.ports = "exited", None, 0, [], []
        self.containers.save(rec)

    def _take_teardown(self, rec: ContainerRecord) -> ContainerRecord:
        """Written before the kill: this command tears the container down once it has exited (the
        monitor leaves at the exit, runtime/monitor.py, and the reaper here undoes the journal
        with the runtime this process has loaded already; the monitor would import it for that
        alone). If this command dies first, the monitor, or the next command, does it as always."""
        me = os.getpid()
        with self.containers.lock(rec.id):
            rec = self.containers.load(rec.id)
            rec.removing = {"pid": me, "start": proc.start_ticks(me)}
            self.containers.save(rec)
        return rec

    def wait(self, ref: str) -> int:
        rec = self.get(ref)
        last = self._wait_not_running(rec.id)
        return (last or rec).exit_code

    # ------------------------------------------------------------------ exec
    def exec(self, ref: str, argv: list[str], *, interactive=False, tty=False, workdir="", env=(), user="",
             sink=None, privileged=False, winsize: bytes | None = None, on_start=None) -> int:
        """Run argv in the container's namespaces, confined as the container is (privileged: with
        every capability, as Docker's exec --privileged); its output goes to our stdout/stderr, or to
        sink(stream, data) when given (the Python API captures it that way). winsize: the TTY's
        size (default: our terminal's); on_start(pid) is told the process once it runs."""
        from minicontainer.runtime.confinement import process_security
        from minicontainer.runtime.process_env import container_env
        from minicontainer.runtime.relay import Relay, terminal_winsize
        from minicontainer.runtime.spawn import Launch, spawn_exec
        rec = self.get(ref)
        if not rec.running or not proc.is_alive(rec.pid, rec.init_start):
            raise DaemonError(f"container {rec.id} is not running")
        if rec.paused:
            raise DaemonError(f"Container {rec.id} is paused, unpause the container before exec")
        launch = Launch(argv=argv, env=merge_env(container_env(rec), list(env)),
                        cwd=workdir or rec.config.get("WorkingDir") or "/", user=user or rec.config.get("User") or "",
                        tty=tty, stdin=interactive, winsize=(winsize or terminal_winsize()) if tty else None,
                        security=process_security(rec.host_config, self.root.lib, privileged_exec=privileged),
                        ulimits=list(rec.host_config.get("Ulimits") or []))
        cgroup = self.cgroup(rec)
        started = spawn_exec(rec.pid, EXEC_NAMESPACES, launch, cgroup.entry_files() if cgroup else [])
        try:
            if on_start is not None:
                on_start(started.pid)
            Relay(started, None, echo=True, forward_stdin=interactive, sink=sink).run()
        finally:
            _, status = os.waitpid(started.pid, 0)
        return os.waitstatus_to_exitcode(status)

    def cgroup(self, rec: ContainerRecord):
        """The running container's cgroup (runtime/cgroup.MakeCgroup), None if it has none."""
        from minicontainer.runtime.cgroup import cgroup_of
        journal = self.containers.journal(rec.id)
        return cgroup_of(journal) if rec.running and journal.exists() else None

    def sample(self, rec: ContainerRecord):
        """One stats reading of a container (runtime/stats.Sample); zeros unless it runs."""
        from minicontainer.network.modes import HostMode, kind_of
        from minicontainer.runtime.stats import Sample, sample
        if not rec.running:
            return Sample()
        own_netns = kind_of(rec.network_mode) is not HostMode  # Docker counts no traffic for --net host
        return sample(self.cgroup(rec), rec.pid, own_netns)

    def top(self, ref: str, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
        """`top`: the host's `ps` with ps_args (default -ef), only the container's processes, as
        Docker's daemon does it: the titles and the rows."""
        import subprocess

        from minicontainer.runtime.stats import processes
        rec = self.get(ref)
        if not rec.running or not proc.is_alive(rec.pid, rec.init_start):
            raise DaemonError(f"container {rec.id} is not running", 1)
        pids = processes(self.cgroup(rec), rec.pid)
        try:
            out = subprocess.run(["ps", *(ps_args or ["-ef"])], capture_output=True, text=True, check=True).stdout
        except subprocess.CalledProcessError as exc:
            raise DaemonError(f"ps: {exc.stderr.strip() or exc}", 1) from None
        lines = [line for line in out.splitlines() if line.strip()]
        titles = lines[0].split() if lines else []
        if "PID" not in titles:
            raise DaemonError("Couldn't find PID field in ps output", 1)
        column = titles.index("PID")
        rows = []
        for line in lines[1:]:
            fields = line.split()
            if len(fields) > len(titles):  # the last column (the command) has spaces of its own
                fields = fields[:len(titles) - 1] + [" ".join(fields[len(titles) - 1:])]
            if fields[column].isdigit() and int(fields[column]) in pids:
                rows.append(fields)
        return titles, rows

    # ------------------------------------------------------------------ images
    def images_in_use(self, image_id: str) -> list[str]:
        return [r.id for r in self.containers.all() if r.image_id == image_id]

    def pull(self, ref: str, progress=None, platform: str = ""):
        """Fetch ref from its registry (Docker Hub unless it names another) into the image store."""
        from minicontainer.images.pull import pull
        from minicontainer.registry import platform as plat
        from minicontainer.specs.refs import parse_reference
        want = None
        if platform:
            try:
                want = plat.parse(platform)
            except ValueError as exc:
                raise DaemonError(str(exc), 125) from None
        return pull(self.images, parse_reference(ref), progress, want)

    def prune_images(self, all_unused: bool) -> tuple[list[str], int]:
        in_use = {r.image_id for r in self.containers.all()}
        return self.images.prune(all_unused, in_use)

    def remove_image(self, ref: str, force: bool = False) -> list[str]:
        image = self.images.find(ref)
        users = self.images_in_use(image.id) if image else []
        return self.images.remove(ref, force, users)


def _image_volumes(volumes: dict, mounts: list) -> list:
    """The image's VOLUME paths that nothing is mounted on become anonymous volumes (Docker does this
    for `redis`'s /data), filled from the image like any empty volume."""
    import os.path

    from minicontainer.specs.volumes import MountSpec
    taken = {m.target for m in mounts}
    return [MountSpec("volume", "", os.path.normpath(path)) for path in volumes if os.path.normpath(path) not in taken]


def _exposed(image_ports: dict, publish: list) -> dict | None:
    """Config.ExposedPorts: the image's plus every published one ({"80/tcp": {}})."""
    ports = {**image_ports, **{b.key: {} for b in publish}}
    return ports or None


def _exposed_bindings(image_ports: dict, publish: list) -> list:
    """-P: each exposed port not already published gets a random host port on all addresses."""
    from minicontainer.specs.ports import PortBinding
    taken = {b.key for b in publish}
    out = []
    for key in image_ports:
        port, _, proto = key.partition("/")
        if key not in taken and port.isdigit():
            out.append(PortBinding(proto or "tcp", int(port), "", 0))
    return out


def _restarts(rec: ContainerRecord) -> bool:
    """Whether its restart policy would start it again (so a stop or kill must call that off)."""
    from minicontainer.specs.restart import from_json
    return from_json(rec.host_config.get("RestartPolicy")).restarts


def check_resources(res) -> list[str]:
    """The daemon's checks of the resource flags against this machine (the CPUs online, what its
    cgroups can hold, the --device nodes); adjusts res as Docker does, returns its warnings."""
    from minicontainer.kernel import cgroups
    from minicontainer.runtime.cgroup import parent_of
    from minicontainer.runtime.devices import host_node
    from minicontainer.specs.resources import check
    parent_of(res.cgroup_parent)
    for mapping in res.devices:
        host_node(mapping)
    try:
        with open("/sys/devices/system/cpu/online") as f:
            online = f.read().strip()
    except OSError:
        online = f"0-{(os.cpu_count() or 1) - 1}"
    return check(res, os.cpu_count() or 1, online, cgroups.supported(cgroups.layout()))
