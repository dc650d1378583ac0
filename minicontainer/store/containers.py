"""Container records on disk: one directory per container, a JSON record, a name index.

Layout under <root>/containers/<id>/:
    container.json   the record (written atomically)      lock   flock for state changes
    upper/ work/     the overlayfs writable layer          merged/  where the rootfs is mounted
    hostname hosts resolv.conf                             bind-mounted into the container
    <id>-json.log    stdout/stderr, Docker's json-file format
    journal.json     host-side steps applied for the running container (store/journal.py)
    trace.jsonl      every step its last start applied (trace.py)
Names are symlinks <root>/names/<name> -> <id>, created with symlink(2), which is atomic: two
concurrent `run --name web` cannot both win.
A directory appears whole (renamed from .new-*) and goes by a rename to .gone-<id>, so a command
killed half way leaves debris that recover() can tell apart from a live container.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from minicontainer.errors import DaemonError, NoSuchContainer
from minicontainer.faults import checkpoint
from minicontainer.kernel import proc
from minicontainer.specs.network import NetworkAttachment, is_user_defined
from minicontainer.specs.ports import PortBinding
from minicontainer.store.locks import locked, write_atomic
from minicontainer.store.records import Endpoint, MountRecord, PublishedPort
from minicontainer.store.root import StateRoot

TYPE_CHECKING = False  # typing costs ms to import on every command; mypy takes any TYPE_CHECKING as true
if TYPE_CHECKING:
    from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class ContainerRecord:
    """Everything a container is, as saved in its container.json."""

    id: str
    name: str
    created: str
    image_id: str
    image_ref: str
    config: dict            # Docker's Config: Hostname, Env, Cmd, Entrypoint, Image, WorkingDir, Tty, OpenStdin
    host_config: dict       # Docker's HostConfig subset: NetworkMode, AutoRemove, Binds
    status: str = "created"  # created | running | exited
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False         # its last run ended by the OOM killer (State.OOMKilled)
    restart_count: int = 0           # restarts by its restart policy since it was last started (RestartCount)
    stopped_by_user: bool = False    # stop or kill: its restart policy does not bring it back
    paused: bool = False             # its cgroup frozen by `pause` (it still runs: State.Running and State.Paused)
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    supervisor: dict | None = None   # {"pid": int, "start": ticks}: identity of the supervisor process
    init_start: int = 0              # start ticks of the container's pid 1 (guards against pid reuse)
    port_bindings: list[PortBinding] = field(default_factory=list)  # what -p / -P asked for
    mounts: list[MountRecord] = field(default_factory=list)
    networks: list[NetworkAttachment] = field(default_factory=list)  # the bridge networks it joins, in order
    endpoints: list[Endpoint] = field(default_factory=list)   # while running: one per network
    ports: list[PublishedPort] = field(default_factory=list)  # while running: what is published
    creator: dict | None = None      # {"pid", "start"} of the command creating it, until commit()
    remove_volumes: bool = False     # removal under way takes the anonymous volumes too
    teardown_errors: list[str] = field(default_factory=list)  # what the last teardown could not undo
    changing: dict | None = None     # a network connect/disconnect under way: {"op", "pid", "start", "endpoint"}
    removing: dict | None = None     # rm -f under way: {"pid", "start"} of the command, which tears it down itself

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerRecord:
        """A record as saved; one written before the typed fields (an `extra` dict with inspect's
        keys, PortBindings in host_config) loads too."""
        data = dict(data)
        extra = data.pop("extra", None) or {}
        host_config = dict(data.get("host_config") or {})
        if "PortBindings" in host_config:
            data.setdefault("port_bindings", [
                {"proto": key.split("/")[1], "container_port": int(key.split("/")[0]), "host_ip": b["HostIp"],
                 "host_port": int(b["HostPort"] or 0)}
                for key, binds in host_config.pop("PortBindings").items() for b in binds])
            data["host_config"] = host_config
        if extra.get("endpoint"):
            data.setdefault("endpoints", [extra["endpoint"]])
            for port in extra.get("ports", []):  # the old ports did not repeat the container's address
                port.setdefault("container_ip", extra["endpoint"]["IPAddress"])
        for key in ("ports", "mounts", "creator", "remove_volumes"):
            if key in extra:
                data.setdefault(key, extra[key])
        data["port_bindings"] = [PortBinding(**b) for b in data.get("port_bindings", [])]
        data["mounts"] = [MountRecord.from_json(m) for m in data.get("mounts", [])]
        if "networks" not in data:  # written before several networks: its one network, if a bridge one
            mode = host_config.get("NetworkMode", "")
            data["networks"] = [{"network": mode}] if is_user_defined(mode) or mode == "bridge" else []
        data["networks"] = [NetworkAttachment.from_json(n) for n in data["networks"]]
        data["endpoints"] = [Endpoint.from_json(e) for e in data.get("endpoints", [])]
        data["ports"] = [PublishedPort.from_json(p) for p in data.get("ports", [])]
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def command(self) -> list[str]:
        return list(self.config.get("Entrypoint") or []) + list(self.config.get("Cmd") or [])

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def state(self) -> str:
        """Docker's State.Status: "paused" is a running container whose cgroup is frozen."""
        return "paused" if self.paused and self.running else self.status

    @property
    def network_mode(self) -> str:
        return self.host_config["NetworkMode"]

    def endpoint_on(self, network: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.network == network), None)


def record_in(directory: str) -> ContainerRecord | None:
    """The record saved in a container directory (live, or renamed away by a removal)."""
    try:
        with open(os.path.join(directory, "container.json")) as f:
            return ContainerRecord.from_json(json.load(f))
    except (FileNotFoundError, NotADirectoryError):
        return None


class ContainerStore:
    def __init__(self, root: StateRoot):
        self.root = root
        self.writes = 0  # records this process created, saved or removed: what a snapshot of all() is checked by

    # -- paths
    def dir(self, cid: str) -> str:
        return os.path.join(self.root.containers, cid)

    def path(self, cid: str, name: str) -> str:
        return os.path.join(self.root.containers, cid, name)

    def log_path(self, cid: str) -> str:
        return self.path(cid, f"{cid}-json.log")

    def journal(self, cid: str):
        """The journal of a container's host-side steps (teardown, the reaper, rm --explain, views)."""
        from minicontainer.store.journal import Journal  # only a start or a teardown needs it
        return Journal(self.path(cid, "journal.json"))

    def trace_path(self, cid: str) -> str:
        return self.path(cid, "trace.jsonl")

    # -- records
    def create(self, rec: ContainerRecord) -> None:
        """Write the record, then claim the name; fails like Docker on a name already in use.

        The directory appears whole (built as .new-<id>-<pid>-<ticks>, then renamed), marked as
        being created by this process until commit(): if we are killed before that, the next
        command's recover() finds the mark of a dead creator and removes what we had made."""
        self.writes += 1
        me = os.getpid()
        rec.creator = {"pid": me, "start": proc.start_ticks(me)}
        staging = os.path.join(self.root.containers, f".new-{rec.id}-{me}-{rec.creator['start']}")
        os.mkdir(staging, mode=0o710)
        write_atomic(os.path.join(staging, "container.json"), rec.to_json())
        os.rename(staging, self.dir(rec.id))
        checkpoint("container record written")
        with self.names_lock():
            try:
                self._claim(rec.name, rec.id)
            except DaemonError:
                import shutil
                shutil.rmtree(self.dir(rec.id), ignore_errors=True)
                raise
        checkpoint("name claimed")

    def _claim(self, name: str, cid: str) -> None:
        """Point name at cid (the caller holds the names lock); Docker's conflict error if another
        container has it. A name whose container is gone (left by a crash) is taken over."""
        link = os.path.join(self.root.names, name)
        other = self._name_target(name)
        if other is not None and not os.path.isdir(self.dir(other)):
            os.unlink(link)
        try:
            os.symlink(cid, link)
        except FileExistsError:
            raise DaemonError(
                f'Conflict. The container name "/{name}" is already in use by container "{other or "?"}". '
                "You have to remove (or rename) that container to be able to reuse that name.", 125) from None

    def rename(self, cid: str, new: str) -> str:
        """Give the container a new name; returns the old one. The new name is claimed first (it
        may be taken: Docker's conflict error), then the record says it, then the old name goes.
        A process killed in between leaves the container with both names until it is removed."""
        with self.names_lock():
            self._claim(new, cid)
            with self.lock(cid):
                rec = self.load(cid)
                old, rec.name = rec.name, new
                self.save(rec)
            try:
                if self._name_target(old) == cid:
                    os.unlink(os.path.join(self.root.names, old))
            except FileNotFoundError:
                pass
        return old

    def commit(self, rec: ContainerRecord) -> None:
        """The container is complete (files written, volumes made): it is no longer being created."""
        rec.creator = None
        self.save(rec)
        checkpoint("container created")

    @contextmanager
    def names_lock(self):
        """Name claims, releases and the recovery of names left by a crash, one at a time."""
        with locked(os.path.join(self.root.names, ".lock")):
            yield

    def load(self, cid: str) -> ContainerRecord:
        rec = record_in(self.dir(cid))
        if rec is None:
            raise NoSuchContainer(cid)
        return rec

    def save(self, rec: ContainerRecord) -> None:
        self.writes += 1
        write_atomic(self.path(rec.id, "container.json"), rec.to_json())

    @contextmanager
    def lock(self, cid: str):
        """Serialize state changes of one container (supervisor vs. commands vs. reaper)."""
        if not os.path.isdir(self.dir(cid)):
            raise NoSuchContainer(cid)
        with locked(self.path(cid, "lock")):
            yield

    def remove(self, rec: ContainerRecord, then=None) -> None:
        """Remove the container: its directory is renamed away first (from that moment it no longer
        exists), then its name is released, then `then(rec)` runs (its anonymous volumes), then the
        files go. Killed half way, recover() finishes the job from the renamed directory."""
        self.writes += 1
        gone = self.gone_dir(rec.id)
        os.rename(self.dir(rec.id), gone)
        checkpoint("container record removed")
        self.finish_removal(rec.id, then)

    def gone_dir(self, cid: str) -> str:
        return os.path.join(self.root.containers, f".gone-{cid}")

    def finish_removal(self, cid: str, then=None) -> None:
        gone = self.gone_dir(cid)
        with self.names_lock():
            for name in self._names_of(cid):
                os.unlink(os.path.join(self.root.names, name))
        checkpoint("name released")
        if then is not None:
            rec = record_in(gone)
            if rec is not None:
                then(rec)
            checkpoint("volumes removed")
        import shutil
        shutil.rmtree(gone, ignore_errors=True)

    def _names_of(self, cid: str) -> list[str]:
        try:
            names = os.listdir(self.root.names)
        except FileNotFoundError:
            return []
        return [n for n in names if self._name_target(n) == cid]

    def debris(self) -> dict[str, list[str]]:
        """What crashed commands left: directories being created by a process that is gone
        (.new-*), removals not finished (.gone-*), names whose container is gone."""
        out = {"staging": [], "gone": [], "names": []}
        try:
            entries = os.listdir(self.root.containers)
        except FileNotFoundError:
            entries = []
        for entry in entries:
            if entry.startswith(".new-"):
                _, pid, start = entry.rsplit("-", 2)
                if not proc.is_alive(int(pid), int(start)):
                    out["staging"].append(entry)
            elif entry.startswith(".gone-"):
                out["gone"].append(entry[len(".gone-"):])
        try:
            names = os.listdir(self.root.names)
        except FileNotFoundError:
            names = []
        for name in names:
            target = self._name_target(name)
            if target is not None and not os.path.isdir(self.dir(target)):
                out["names"].append(name)
        return out

    def drop_dangling_name(self, name: str) -> None:
        with self.names_lock():
            target = self._name_target(name)
            if target is not None and not os.path.isdir(self.dir(target)):
                os.unlink(os.path.join(self.root.names, name))

    def ids(self) -> list[str]:
        try:
            return [d for d in os.listdir(self.root.containers) if len(d) == 64]
        except FileNotFoundError:
            return []

    def claims(self) -> dict[str, dict]:
        """{id: {creator, supervisor, changing}} of every container, each record parsed only when it
        changed since the last command (store/claims.py)."""
        from minicontainer.store.claims import read_claims
        return read_claims(self.root.run, {cid: self.path(cid, "container.json") for cid in self.ids()})

    def all(self) -> list[ContainerRecord]:
        recs = []
        for cid in self.ids():
            try:
                recs.append(self.load(cid))
            except NoSuchContainer:
                continue  # removed while we were listing
        return recs

    def _name_target(self, name: str) -> str | None:
        try:
            return os.readlink(os.path.join(self.root.names, name))
        except OSError:
            return None

    def resolve(self, ref: str) -> str:
        """Docker's lookup order: full id, then exact name, then unique id prefix."""
        ref_name = ref.lstrip("/")
        ids = self.ids()
        if ref in ids:
            return ref
        target = self._name_target(ref_name) if ref_name and "/" not in ref_name else None
        if target and target in ids:
            return target
        matches = [i for i in ids if ref and i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise DaemonError(f"multiple IDs found with provided prefix: {ref}")
        raise NoSuchContainer(ref)
