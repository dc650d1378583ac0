"""Images on disk: <root>/images/<hex>/{rootfs/,image.json} plus a tag index repositories.json.

An image here is one read-only rootfs directory; containers use it as the overlayfs lower layer.
(Layered images from registries share layers by digest: see the images issue.)
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass

from minicontainer.errors import DaemonError, MCError, NoSuchImage
from minicontainer.specs.refs import normalize
from minicontainer.store.locks import locked, write_atomic
from minicontainer.store.root import StateRoot

BUILTIN_REF = "busybox:latest"


def now_rfc3339() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


@dataclass
class Image:
    id: str              # "sha256:<64 hex>"
    repo_tags: list[str]
    created: str
    size: int
    config: dict         # Cmd, Entrypoint, Env, WorkingDir
    comment: str = ""

    @property
    def hex(self) -> str:
        return self.id.split(":", 1)[1]

    @property
    def short_id(self) -> str:
        return self.hex[:12]


def dir_size(path: str) -> int:
    """Bytes in the files under path (what Docker shows as a size)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


class ImageStore:
    def __init__(self, root: StateRoot):
        self.root = root
        self.repos_path = os.path.join(root.images, "repositories.json")

    def rootfs(self, image: Image) -> str:
        return os.path.join(self.root.images, image.hex, "rootfs")

    def lower_dirs(self, image: Image) -> list[str]:
        return [self.rootfs(image)]

    # -- index
    def _repos(self) -> dict[str, str]:
        try:
            with open(self.repos_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _load(self, hexid: str) -> Image:
        with open(os.path.join(self.root.images, hexid, "image.json")) as f:
            img = Image(**json.load(f))
        img.repo_tags = sorted(t for t, i in self._repos().items() if i == img.id)
        return img

    def list(self) -> list[Image]:
        images = []
        for d in os.listdir(self.root.images):
            if len(d) == 64:
                try:
                    images.append(self._load(d))
                except FileNotFoundError:
                    continue
        return sorted(images, key=lambda i: i.created, reverse=True)

    def find(self, ref: str) -> Image | None:
        """By tag, then by full or unique short id (with or without 'sha256:')."""
        repos = self._repos()
        try:
            tagged = repos.get(normalize(ref))
        except MCError:  # not a valid reference: it can still be an id prefix
            tagged = None
        if tagged:
            return self._load(tagged.split(":", 1)[1])
        want = ref.removeprefix("sha256:")
        if want and all(c in "0123456789abcdef" for c in want):
            hits = [d for d in os.listdir(self.root.images) if len(d) == 64 and d.startswith(want)]
            if len(hits) == 1:
                return self._load(hits[0])
        return None

    def get(self, ref: str) -> Image:
        """Resolve ref; the built-in busybox image is built on first use."""
        img = self.find(ref)
        if img:
            return img
        if normalize(ref) == BUILTIN_REF:
            return self._build_busybox()
        raise NoSuchImage(ref)

    # -- writes (under the image lock)
    def _commit(self, staging: str, config: dict, tag: str | None, digest_source: bytes, comment: str = "") -> Image:
        import hashlib
        hexid = hashlib.sha256(digest_source).hexdigest()
        image = Image(id=f"sha256:{hexid}", repo_tags=[], created=now_rfc3339(),
                      size=dir_size(os.path.join(staging, "rootfs")), config=config, comment=comment)
        with locked(self.root.lock_path("images")):
            final = os.path.join(self.root.images, hexid)
            if os.path.isdir(final):
                shutil.rmtree(staging)
            else:
                with open(os.path.join(staging, "image.json"), "w") as f:
                    json.dump(asdict(image), f, indent=1)
                os.rename(staging, final)
            if tag:
                repos = self._repos()
                repos[tag] = image.id
                write_atomic(self.repos_path, json.dumps(repos, indent=1, sort_keys=True))
        return self._load(hexid)

    def _staging(self) -> str:
        import tempfile
        staging = tempfile.mkdtemp(prefix="image-", dir=self.root.tmp)
        os.mkdir(os.path.join(staging, "rootfs"), 0o755)
        return staging

    def _build_busybox(self) -> Image:
        import hashlib

        from minicontainer.images import busybox
        staging = self._staging()
        try:
            binary = busybox.build_rootfs(os.path.join(staging, "rootfs"))
            with open(binary, "rb") as f:
                source = hashlib.sha256(f.read()).hexdigest().encode() + json.dumps(busybox.IMAGE_CONFIG).encode()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return self._commit(staging, dict(busybox.IMAGE_CONFIG), BUILTIN_REF, source,
                            comment=f"built from the host's {binary}")

    def import_tarball(self, path: str, ref: str | None) -> Image:
        import hashlib

        from minicontainer.images import busybox, tarsafe
        tag = normalize(ref) if ref else None
        staging = self._staging()
        try:
            tarsafe.extract(path, os.path.join(staging, "rootfs"))
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        config = {"Cmd": None, "Entrypoint": None, "Env": [busybox.DEFAULT_PATH], "WorkingDir": ""}
        return self._commit(staging, config, tag, h.hexdigest().encode(), comment="Imported from " + os.path.basename(path))

    def remove(self, ref: str, force: bool, users: list[str]) -> list[str]:
        """Untag ref (and delete the image once no tag is left). users: ids of containers using it."""
        image = self.find(ref)
        if image is None:
            raise NoSuchImage(ref)
        by_tag = ref not in (image.id, image.hex) and not image.hex.startswith(ref.removeprefix("sha256:"))
        if users and not force:
            what = f'repository reference "{ref}"' if by_tag else image.short_id
            raise DaemonError(f"conflict: unable to remove {what} (must force) - container {users[0][:12]} "
                              f"is using its referenced image {image.short_id}", 1)
        out = []
        with locked(self.root.lock_path("images")):
            repos = self._repos()
            tags = [normalize(ref)] if by_tag else [t for t, i in repos.items() if i == image.id]
            for t in tags:
                repos.pop(t, None)
                out.append(f"Untagged: {t}")
            write_atomic(self.repos_path, json.dumps(repos, indent=1, sort_keys=True))
            if image.id not in repos.values() and not users:
                shutil.rmtree(os.path.join(self.root.images, image.hex), ignore_errors=True)
                out.append(f"Deleted: {image.id}")
        return out
