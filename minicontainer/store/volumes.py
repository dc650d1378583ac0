"""Named and anonymous volumes, like Docker's local driver: <root>/volumes/<name>/_data plus a small
volume.json. A volume is just a directory on the host that containers bind-mount."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from minicontainer.errors import DaemonError
from minicontainer.store.locks import locked, write_atomic


@dataclass
class Volume:
    """A named or anonymous volume: its name, creation time and labels."""

    name: str
    created: str
    labels: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)  # the local driver's -o: type, o, device (none: a directory)

    @property
    def anonymous(self) -> bool:
        return "com.docker.volume.anonymous" in self.labels


class VolumeStore:
    def __init__(self, lib: str):
        self.dir = os.path.join(lib, "volumes")

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def data(self, name: str) -> str:
        return os.path.join(self.dir, name, "_data")

    def find(self, name: str) -> Volume | None:
        try:
            with open(os.path.join(self.path(name), "volume.json")) as f:
                return Volume(**json.load(f))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def get(self, name: str) -> Volume:
        vol = self.find(name)
        if vol is None:
            raise DaemonError(f"get {name}: no such volume", 1)
        return vol

    def list(self) -> list[Volume]:
        if not os.path.isdir(self.dir):
            return []
        return [v for v in map(self.find, sorted(os.listdir(self.dir))) if v is not None]

    def ensure(self, name: str, anonymous: bool = False, labels: dict | None = None,
               options: dict | None = None) -> tuple[Volume, bool]:
        """The volume, created if missing; the bool says whether it was created now."""
        from minicontainer.clock import now_rfc3339
        os.makedirs(self.dir, exist_ok=True)
        with locked(os.path.join(self.dir, ".lock")):
            vol = self.find(name)
            if vol is not None:
                return vol, False
            marks = {"com.docker.volume.anonymous": ""} if anonymous else {}
            vol = Volume(name, now_rfc3339(), {**marks, **(labels or {})}, dict(options or {}))
            os.makedirs(self.path(name), mode=0o701, exist_ok=True)
            os.makedirs(self.data(name), mode=0o755, exist_ok=True)
            write_atomic(os.path.join(self.path(name), "volume.json"), json.dumps(asdict(vol)))
            return vol, True

    def remove(self, name: str, users: list[str], force: bool = False) -> None:
        if users:
            raise DaemonError(f"remove {name}: volume is in use - [{', '.join(users)}]", 1)
        if self.find(name) is None:
            if force:
                return
            raise DaemonError(f"get {name}: no such volume", 1)
        with locked(os.path.join(self.dir, ".lock")):
            import shutil  # only a removal needs it (bz2 and lzma come along)
            shutil.rmtree(self.path(name))

    def inspect(self, vol: Volume) -> dict:
        return {"CreatedAt": vol.created, "Driver": "local", "Labels": vol.labels or None,
                "Mountpoint": self.data(vol.name), "Name": vol.name, "Options": vol.options or None, "Scope": "local"}
