"""Container records on disk: one directory per container, a JSON record, a name index.

Layout under <root>/containers/<id>/:
    container.json   the record (written atomically)      lock   flock for state changes
    upper/ work/     the overlayfs writable layer          merged/  where the rootfs is mounted
    hostname hosts resolv.conf                             bind-mounted into the container
    <id>-json.log    stdout/stderr, Docker's json-file format
Names are symlinks <root>/names/<name> -> <id>, created with symlink(2), which is atomic: two
concurrent `run --name web` cannot both win.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from minicontainer.errors import DaemonError, NoSuchContainer
from minicontainer.store.locks import locked, write_atomic
from minicontainer.store.root import StateRoot

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class ContainerRecord:
    id: str
    name: str
    created: str
    image_id: str
    image_ref: str
    config: dict            # Docker's Config: Hostname, Env, Cmd, Entrypoint, Image, WorkingDir, Tty, OpenStdin
    host_config: dict       # Docker's HostConfig subset: NetworkMode, AutoRemove
    status: str = "created"  # created | running | exited
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    supervisor: dict | None = None   # {"pid": int, "start": ticks}: identity of the supervisor process
    init_start: int = 0              # start ticks of the container's pid 1 (guards against pid reuse)
    extra: dict = field(default_factory=dict)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def command(self) -> list[str]:
        return list(self.config.get("Entrypoint") or []) + list(self.config.get("Cmd") or [])

    @property
    def running(self) -> bool:
        return self.status == "running"


class ContainerStore:
    def __init__(self, root: StateRoot):
        self.root = root

    # -- paths
    def dir(self, cid: str) -> str:
        return os.path.join(self.root.containers, cid)

    def path(self, cid: str, name: str) -> str:
        return os.path.join(self.root.containers, cid, name)

    def log_path(self, cid: str) -> str:
        return self.path(cid, f"{cid}-json.log")

    # -- records
    def create(self, rec: ContainerRecord) -> None:
        """Claim the name and write the record; fails like Docker on a name already in use."""
        os.makedirs(self.dir(rec.id), mode=0o710)
        self.save(rec)
        try:
            os.symlink(rec.id, os.path.join(self.root.names, rec.name))
        except FileExistsError:
            shutil.rmtree(self.dir(rec.id), ignore_errors=True)
            other = self._name_target(rec.name) or "?"
            raise DaemonError(
                f'Conflict. The container name "/{rec.name}" is already in use by container "{other}". '
                "You have to remove (or rename) that container to be able to reuse that name.", 125) from None

    def load(self, cid: str) -> ContainerRecord:
        try:
            with open(self.path(cid, "container.json")) as f:
                data = json.load(f)
        except FileNotFoundError:
            raise NoSuchContainer(cid) from None
        return ContainerRecord(**data)

    def save(self, rec: ContainerRecord) -> None:
        write_atomic(self.path(rec.id, "container.json"), json.dumps(asdict(rec), indent=1))

    @contextmanager
    def lock(self, cid: str):
        """Serialize state changes of one container (supervisor vs. commands vs. reaper)."""
        if not os.path.isdir(self.dir(cid)):
            raise NoSuchContainer(cid)
        with locked(self.path(cid, "lock")):
            yield

    def remove(self, rec: ContainerRecord) -> None:
        link = os.path.join(self.root.names, rec.name)
        if self._name_target(rec.name) == rec.id:
            os.unlink(link)
        shutil.rmtree(self.dir(rec.id), ignore_errors=True)

    def ids(self) -> list[str]:
        try:
            return [d for d in os.listdir(self.root.containers) if len(d) == 64]
        except FileNotFoundError:
            return []

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
