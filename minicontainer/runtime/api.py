"""Runtime: the operations behind every command (run, start, stop, rm, exec, logs, ps, inspect...).

Each command is a short-lived process; the only long-lived ones are the per-container supervisors.
Any command that looks at a container first checks that its supervisor is still alive (pid plus
start time) and, if it died, reaps the container: kills what is left and records it as exited.
"""

from __future__ import annotations

import os
import shutil
import signal
import time

from minicontainer.errors import DaemonError, NoSuchContainer
from minicontainer.faults import checkpoint
from minicontainer.images.store import ImageStore, now_rfc3339
from minicontainer.runtime import etcfiles, liveness
from minicontainer.runtime.logs import rfc3339_now
from minicontainer.specs.names import random_name
from minicontainer.specs.run import RunSpec, merge_env
from minicontainer.store.containers import ContainerRecord, ContainerStore
from minicontainer.store.root import StateRoot

EXEC_NAMESPACES = ["ipc", "uts", "net", "pid", "mnt"]  # mnt last: it changes what paths mean


class Runtime:
    def __init__(self, root: str | None = None):
        self.root = StateRoot(root)
        self.root.ensure()
        self.containers = ContainerStore(self.root)
        self.images = ImageStore(self.root)

    # ------------------------------------------------------------------ create
    def create(self, spec: RunSpec) -> ContainerRecord:
        rec = self.new_record(spec)
        if spec.mounts:
            from minicontainer.runtime.volumes import check_sources, mount_records
            check_sources(spec.mounts)  # a missing --mount source fails before anything exists
            rec.extra["mounts"] = mount_records(self.volumes, spec.mounts)
        self._claim_name(rec, spec.name)
        try:
            if spec.mounts:
                from minicontainer.runtime.volumes import make_volumes
                make_volumes(self.volumes, spec.mounts, rec.extra["mounts"],
                             self.images.lower_dirs(self.images.get(rec.image_id)))
            self._write_files(rec, spec.network == "host")
            self.containers.commit(rec)
        except BaseException:
            self.delete(rec, volumes=True)
            raise
        return rec

    def create_with_image(self, spec: RunSpec, pull_policy: str, ensure_image) -> ContainerRecord:
        """create() after ensure_image(self, ref, policy) made the image present (the CLI's pulls
        print progress, the Python API's the same), with "invalid reference format" checked first."""
        from minicontainer.specs.refs import normalize
        normalize(spec.image)
        ensure_image(self, spec.image, pull_policy)
        return self.create(spec)

    def new_record(self, spec: RunSpec) -> ContainerRecord:
        """The container's record from its spec and image, not saved yet (create saves it; --dry-run
        only looks). Completes spec with the image's volumes and, for -P, its exposed ports."""
        image = self.images.get(spec.image)
        if spec.entrypoint is not None:  # --entrypoint replaces the image's and drops its Cmd (Docker)
            entrypoint, cmd = ([spec.entrypoint] if spec.entrypoint else None), (spec.command or None)
        else:
            entrypoint, cmd = image.config.get("Entrypoint"), spec.command or image.config.get("Cmd")
        spec.mounts = spec.mounts + _image_volumes(image.config.get("Volumes") or {}, spec.mounts)
        if spec.publish_all:
            spec.publish = spec.publish + _exposed_bindings(image.config.get("ExposedPorts") or {}, spec.publish)
        if not entrypoint and not cmd:
            raise DaemonError("no command specified", 125)
        cid = os.urandom(32).hex()
        host_net = spec.network == "host"
        if spec.network not in ("none", "host", "bridge") and not spec.network.startswith("container:"):
            from minicontainer.network.networks import NetworkStore
            NetworkStore(self.root).get(spec.network)  # "network NAME not found" before anything is created
        if spec.network.startswith("container:"):
            ref = spec.network.partition(":")[2]
            try:
                spec.network = "container:" + self.containers.resolve(ref)
            except NoSuchContainer:
                raise DaemonError(f"No such container: {ref}", 125) from None
        import socket
        hostname = spec.hostname or (socket.gethostname() if host_net else cid[:12])
        interactive, attached = spec.interactive, not spec.detach
        config = {
            "Hostname": hostname, "Domainname": "", "User": spec.user or image.config.get("User") or "",
            "AttachStdin": interactive and attached, "AttachStdout": attached, "AttachStderr": attached,
            "Tty": spec.tty, "OpenStdin": interactive, "StdinOnce": interactive and attached,
            "Env": merge_env(list(image.config.get("Env") or []), spec.env), "Cmd": cmd, "Image": spec.image,
            "WorkingDir": spec.workdir or image.config.get("WorkingDir") or "", "Entrypoint": entrypoint,
            "ExposedPorts": _exposed(image.config.get("ExposedPorts") or {}, spec.publish),
            "Volumes": image.config.get("Volumes") or None,
        }
        rec = ContainerRecord(id=cid, name=spec.name or "", created=now_rfc3339(), image_id=image.id,
                              image_ref=spec.image, config=config,
                              host_config={"NetworkMode": spec.network, "AutoRemove": spec.remove,
                                           "PortBindings": _port_bindings(spec), "Binds": spec.binds or None})
        return rec

    @property
    def volumes(self):
        from minicontainer.store.volumes import VolumeStore
        return VolumeStore(self.root.lib)

    def remove_anonymous_volumes(self, rec: ContainerRecord) -> None:
        if rec.extra.get("mounts"):
            from minicontainer.runtime.volumes import remove_anonymous
            remove_anonymous(self.volumes, rec.extra["mounts"])

    def delete(self, rec: ContainerRecord, volumes: bool) -> None:
        """Remove the container's record and files and, with volumes, its anonymous volumes. The
        choice is written down first: recover() finishes a removal a crash cut short the same way."""
        if volumes and rec.extra.get("mounts"):
            rec.extra["remove_volumes"] = True
            self.containers.save(rec)
        self.containers.remove(rec, then=self.remove_anonymous_volumes if volumes else None)

    # ------------------------------------------------------------------ after a crash
    def recover(self, repair_rules: bool = True) -> None:
        """Bring the root back to a clean state after commands or supervisors were killed: finish
        removals, drop half-created containers and names whose container is gone, reap containers
        whose supervisor died (undoing their host-side steps), free leases of dead holders, and add
        back firewall rules of ours that someone deleted."""
        store = self.containers
        debris = store.debris()
        for cid in debris["gone"]:
            rec = _record_in(store.gone_dir(cid))
            wants = rec is not None and rec.extra.get("remove_volumes")
            store.finish_removal(cid, self.remove_anonymous_volumes if wants else None)
        for entry in debris["staging"]:
            shutil.rmtree(os.path.join(self.root.containers, entry), ignore_errors=True)
        for rec in store.all():
            creator = rec.extra.get("creator")
            if creator and not liveness.is_alive(creator["pid"], creator["start"]):
                with store.lock(rec.id):
                    self.delete(rec, volumes=True)  # never finished: its volumes were made for it alone
            else:
                self.reap_if_dead(rec)
        for name in debris["names"]:
            store.drop_dangling_name(name)
        from minicontainer.network.networks import NetworkStore
        NetworkStore(self.root).reclaim_leases()
        if not repair_rules:
            return
        from minicontainer.network.repair import repair
        restored = repair(self)
        if restored:
            import sys
            print(f"minicontainer: restored {len(restored)} firewall rules or chains that were missing "
                  f"from the kernel (first: {restored[0]})", file=sys.stderr)

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

    def _write_files(self, rec: ContainerRecord, host_net: bool) -> None:
        store = self.containers
        for d in ("upper", "work", "merged"):
            os.mkdir(store.path(rec.id, d), 0o755)
        for name, text in etc_files(rec, host_net).items():
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
        recs = [r for r in (self.reap_if_dead(r) for r in self.containers.all())
                if r is not None and not r.extra.get("creator")]  # being created: not there yet
        if not all_:
            recs = [r for r in recs if r.running]
        return sorted(recs, key=lambda r: r.created, reverse=True)

    def reap_if_dead(self, rec: ContainerRecord) -> ContainerRecord | None:
        """If rec's supervisor died, clean up after it. Returns the fresh record, None if removed."""
        sup = rec.supervisor
        if not sup or liveness.is_alive(sup["pid"], sup["start"]):
            return rec
        store = self.containers
        try:
            with store.lock(rec.id):
                rec = store.load(rec.id)
                sup = rec.supervisor
                if not sup or liveness.is_alive(sup["pid"], sup["start"]):
                    return rec
                killed = self._kill_and_wait(rec, signal.SIGKILL, None)
                from minicontainer.runtime.supervisor import release_network
                release_network(self, rec)
                rec.extra.pop("endpoint", None)
                rec.extra.pop("ports", None)
                if rec.running:
                    rec.status, rec.exit_code = "exited", 137 if killed else 255
                    rec.error = "supervisor died; container reaped"
                    rec.finished_at = rfc3339_now()
                else:  # it died while starting the container: Docker's state for a failed start
                    rec.exit_code, rec.error = 128, "supervisor died while starting the container"
                rec.pid, rec.supervisor = 0, None
                store.save(rec)
        except NoSuchContainer:
            return None
        if rec.host_config.get("AutoRemove"):
            self.delete(rec, volumes=True)  # --rm takes the anonymous volumes too
            return None
        return rec

    def _kill_and_wait(self, rec: ContainerRecord, sig: int, timeout: float | None) -> bool:
        """Signal the container's pid 1 and wait for it to exit; False if it was already gone."""
        fd = liveness.open_pidfd(rec.pid, rec.init_start)
        if fd is None:
            return False
        try:
            signal.pidfd_send_signal(fd, sig)
            return liveness.wait_pidfd(fd, timeout)
        finally:
            os.close(fd)

    def _wait_not_running(self, cid: str, timeout: float | None = None) -> ContainerRecord | None:
        """Poll the record until the supervisor has recorded the exit (or reap it if it died)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                rec = self.reap_if_dead(self.containers.load(cid))
            except NoSuchContainer:
                return None
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

    def stop(self, ref: str, timeout: float = 10) -> None:
        rec = self.get(ref)
        if not rec.running:
            return
        fd = liveness.open_pidfd(rec.pid, rec.init_start)
        if fd is not None:
            try:
                signal.pidfd_send_signal(fd, signal.SIGTERM)
                if not liveness.wait_pidfd(fd, timeout):
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    liveness.wait_pidfd(fd, None)
            finally:
                os.close(fd)
        self._wait_not_running(rec.id)

    def restart(self, ref: str, timeout: float = 10) -> None:
        self.stop(ref, timeout)
        self.start(ref)

    def kill(self, ref: str, sig: int = signal.SIGKILL) -> None:
        rec = self.get(ref)
        fd = liveness.open_pidfd(rec.pid, rec.init_start) if rec.running else None
        if fd is None:
            raise DaemonError(f"Cannot kill container: {ref}: Container {rec.id} is not running")
        try:
            signal.pidfd_send_signal(fd, sig)
        finally:
            os.close(fd)

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        rec = self.get(ref)
        if rec.running:
            if not force:
                raise DaemonError(f"You cannot remove a running container {rec.id}. "
                                  "Stop the container before attempting removal or force remove")
            self._kill_and_wait(rec, signal.SIGKILL, None)
            checkpoint("container killed")
            rec = self._wait_not_running(rec.id)
            checkpoint("teardown seen")
            if rec is None:
                return  # it was a --rm container: its supervisor removed it
        try:
            with self.containers.lock(rec.id):
                self.delete(self.containers.load(rec.id), volumes)
        except NoSuchContainer:
            return

    def wait(self, ref: str) -> int:
        rec = self.get(ref)
        last = self._wait_not_running(rec.id)
        return (last or rec).exit_code

    # ------------------------------------------------------------------ exec
    def exec(self, ref: str, argv: list[str], *, interactive=False, tty=False, workdir="", env=(), user="",
             sink=None) -> int:
        """Run argv in the container's namespaces; its output goes to our stdout/stderr, or to
        sink(stream, data) when given (the Python API captures it that way)."""
        from minicontainer.runtime.relay import Relay, terminal_winsize
        from minicontainer.runtime.spawn import Launch, spawn_exec
        from minicontainer.runtime.supervisor import container_env
        rec = self.get(ref)
        if not rec.running or not liveness.is_alive(rec.pid, rec.init_start):
            raise DaemonError(f"container {rec.id} is not running")
        launch = Launch(argv=argv, env=merge_env(container_env(rec), list(env)),
                        cwd=workdir or rec.config.get("WorkingDir") or "/", user=user or rec.config.get("User") or "",
                        tty=tty, stdin=interactive,
                        winsize=terminal_winsize() if tty else None)
        started = spawn_exec(rec.pid, EXEC_NAMESPACES, launch)
        try:
            Relay(started, None, echo=True, forward_stdin=interactive, sink=sink).run()
        finally:
            _, status = os.waitpid(started.pid, 0)
        return os.waitstatus_to_exitcode(status)

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


def _record_in(directory: str) -> ContainerRecord | None:
    import json
    try:
        with open(os.path.join(directory, "container.json")) as f:
            return ContainerRecord(**json.load(f))
    except FileNotFoundError:
        return None


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


def _port_bindings(spec: RunSpec) -> dict:
    """HostConfig.PortBindings, as Docker stores them: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}."""
    if spec.network in ("none", "host") or spec.network.startswith("container:"):
        return {}
    out: dict = {}
    for b in spec.publish:
        out.setdefault(b.key, []).append({"HostIp": b.host_ip, "HostPort": str(b.host_port) if b.host_port else ""})
    return out


def etc_files(rec: ContainerRecord, host_net: bool, ip: str | None = None) -> dict[str, str]:
    """The /etc files a container gets (hosts names its address once it has one)."""
    hostname = rec.config["Hostname"]
    hosts = _read("/etc/hosts") if host_net else etcfiles.hosts(ip, hostname)
    return {"hostname": hostname + "\n", "hosts": hosts,
            "resolv.conf": etcfiles.resolv_conf(_read("/etc/resolv.conf"), host_net)}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""

