"""Images on disk: <images>/<hex>/{image.json,config.json}, layers in layers.py, refs in repositories.json.

An image is its config (the JSON whose sha256 is the image ID, as in Docker) and an ordered list of
layer ids; a container's rootfs is an overlay of those layers (see lower_dirs). repositories.json maps
refs (`nginx:alpine`, `nginx@sha256:...`) to image ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from minicontainer.clock import now_rfc3339
from minicontainer.errors import DaemonError, MCError, NoSuchImage
from minicontainer.images.layers import LayerStore
from minicontainer.specs.refs import normalize
from minicontainer.store.locks import locked, write_atomic
from minicontainer.store.root import StateRoot

BUILTIN_REF = "busybox:latest"


@dataclass
class Image:
    """An image in the store: its id, names, config and layers."""

    id: str              # "sha256:<64 hex>" = sha256 of config.json
    repo_tags: list[str]
    created: str
    size: int
    config: dict         # the config's "config": Cmd, Entrypoint, Env, WorkingDir, User, ExposedPorts...
    comment: str = ""
    layers: list[str] = field(default_factory=list)   # layer ids, bottom first
    repo_digests: list[str] = field(default_factory=list)
    architecture: str = ""
    os: str = "linux"

    @property
    def hex(self) -> str:
        return self.id.split(":", 1)[1]

    @property
    def short_id(self) -> str:
        return self.hex[:12]


class ImageStore:
    def __init__(self, root: StateRoot):
        self.root = root
        self.layers = LayerStore(root)
        self.repos_path = os.path.join(root.images, "repositories.json")

    def lower_dirs(self, image: Image) -> list[str]:
        """Overlay lowerdir order: the top layer first."""
        if not image.layers:  # an image stored before layers existed: one unpacked rootfs
            return [os.path.join(self.root.images, image.hex, "rootfs")]
        return [self.layers.path(layer) for layer in reversed(image.layers)]

    def config_json(self, image: Image) -> dict:
        try:
            with open(os.path.join(self.root.images, image.hex, "config.json"), "rb") as f:
                return json.load(f)
        except FileNotFoundError:
            return {"config": image.config}

    # -- index
    def _repos(self) -> dict[str, str]:
        try:
            with open(self.repos_path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _write_repos(self, repos: dict[str, str]) -> None:
        write_atomic(self.repos_path, json.dumps(repos, indent=1, sort_keys=True))

    def _load(self, hexid: str, repos: dict[str, str] | None = None) -> Image:
        with open(os.path.join(self.root.images, hexid, "image.json")) as f:
            img = Image(**json.load(f))
        refs = sorted(r for r, i in (self._repos() if repos is None else repos).items() if i == img.id)
        img.repo_tags = [r for r in refs if "@" not in r]
        img.repo_digests = [r for r in refs if "@" in r]
        return img

    def list(self) -> list[Image]:
        images, repos = [], self._repos()
        for d in os.listdir(self.root.images):
            if len(d) == 64:
                try:
                    images.append(self._load(d, repos))
                except FileNotFoundError:
                    continue
        return sorted(images, key=lambda i: i.created, reverse=True)

    def find(self, ref: str) -> Image | None:
        """By ref, then by full or unique short id (with or without 'sha256:')."""
        repos = self._repos()
        try:
            tagged = repos.get(normalize(ref))
        except MCError:  # not a valid reference: it can still be an id prefix
            tagged = None
        if tagged:
            return self._load(tagged.split(":", 1)[1], repos)
        want = ref.removeprefix("sha256:")
        if want and all(c in "0123456789abcdef" for c in want):
            hits = [d for d in os.listdir(self.root.images) if len(d) == 64 and d.startswith(want)]
            if len(hits) == 1:
                return self._load(hits[0], repos)
        return None

    def get(self, ref: str) -> Image:
        """Resolve ref; the built-in busybox image is built on first use."""
        img = self.find(ref)
        if img:
            return img
        if normalize(ref) == BUILTIN_REF:
            return self._build_busybox()
        raise NoSuchImage(ref)

    # -- writes
    def commit(self, config_bytes: bytes, refs: list[str], comment: str = "") -> Image:
        """Record an image whose layers are all in the layer store; point refs at it."""
        import hashlib
        import shutil
        config = json.loads(config_bytes)
        layers = list((config.get("rootfs") or {}).get("diff_ids") or [])
        missing = [layer for layer in layers if not self.layers.exists(layer)]
        if missing:
            raise MCError(f"layer {missing[0]} is not in the layer store", 125)
        hexid = hashlib.sha256(config_bytes).hexdigest()
        image = Image(id=f"sha256:{hexid}", repo_tags=[], created=config.get("created") or now_rfc3339(),
                      size=sum(self.layers.size(layer) for layer in layers), config=config.get("config") or {},
                      comment=comment or config.get("comment", ""), layers=layers,
                      architecture=config.get("architecture", ""), os=config.get("os", "linux"))
        with locked(self.root.lock_path("images")):
            final = os.path.join(self.root.images, hexid)
            if not os.path.isdir(final):
                staging = os.path.join(self.root.tmp, "image-" + hexid)
                shutil.rmtree(staging, ignore_errors=True)
                os.mkdir(staging)
                with open(os.path.join(staging, "config.json"), "wb") as f:
                    f.write(config_bytes)
                with open(os.path.join(staging, "image.json"), "w") as f:
                    json.dump(asdict(image), f, indent=1)
                os.rename(staging, final)
            if refs:
                repos = self._repos()
                for ref in refs:
                    repos[ref] = image.id
                self._write_repos(repos)
        return self._load(hexid)

    def _build_busybox(self) -> Image:
        import hashlib
        import shutil

        from minicontainer.images import busybox
        from minicontainer.registry.platform import host
        staging = self.layers.staging()
        try:
            binary = busybox.build_rootfs(os.path.join(staging, "diff"))
            with open(binary, "rb") as f:
                layer_id = "sha256:" + hashlib.sha256(f.read() + json.dumps(busybox.IMAGE_CONFIG).encode()).hexdigest()
            created = now_rfc3339(int(os.stat(binary).st_mtime))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.layers.commit(staging, layer_id)
        config = {"architecture": host().architecture, "os": "linux", "created": created,
                  "comment": f"built from the host's {binary}", "config": dict(busybox.IMAGE_CONFIG),
                  "rootfs": {"type": "layers", "diff_ids": [layer_id]}}
        return self.commit(json.dumps(config, sort_keys=True).encode(), [BUILTIN_REF])

    def tag(self, source: str, target: str) -> Image:
        """`tag SOURCE TARGET`: target names the image source names (or is its id)."""
        from minicontainer.specs.refs import parse_reference
        image = self.get(source)
        parsed = parse_reference(target)
        if parsed.digest:
            raise DaemonError("refusing to create a tag with a digest reference", 1)
        with locked(self.root.lock_path("images")):
            repos = self._repos()
            repos[normalize(target)] = image.id
            self._write_repos(repos)
        return image

    def import_tarball(self, path: str, ref: str | None) -> Image:
        from minicontainer.images import busybox
        from minicontainer.registry.platform import host
        tag = normalize(ref) if ref else None
        with open(path, "rb") as f:
            diff_id, _ = self.layers.add_tar(f, "auto", None)
        config = {"architecture": host().architecture, "os": "linux", "created": now_rfc3339(),
                  "comment": "Imported from " + os.path.basename(path),
                  "config": {"Cmd": None, "Entrypoint": None, "Env": [busybox.DEFAULT_PATH], "WorkingDir": ""},
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
        return self.commit(json.dumps(config).encode(), [tag] if tag else [])

    def remove(self, ref: str, force: bool, users: list[str]) -> list[str]:
        """Untag ref (and delete the image once no tag is left). users: ids of containers using it."""
        image = self.find(ref)
        if image is None:
            raise NoSuchImage(ref)
        by_ref = ref not in (image.id, image.hex) and not image.hex.startswith(ref.removeprefix("sha256:"))
        if users and not force:
            what = f'repository reference "{ref}"' if by_ref else image.short_id
            raise DaemonError(f"conflict: unable to remove {what} (must force) - container {users[0][:12]} "
                              f"is using its referenced image {image.short_id}", 1)
        if not by_ref and len(image.repo_tags) > 1 and not force:
            raise DaemonError(f"conflict: unable to delete {image.short_id} (must be forced) - image is "
                              "referenced in multiple repositories", 1)
        out = []
        with locked(self.root.lock_path("images")):
            repos = self._repos()
            refs = [normalize(ref)] if by_ref else [r for r, i in repos.items() if i == image.id]
            for r in refs:
                repos.pop(r, None)
                out.append(f"Untagged: {r}")
            left = [r for r, i in repos.items() if i == image.id]
            if all("@" in r for r in left):   # only digests left: they go with the last tag (Docker)
                for r in left:
                    repos.pop(r)
                    out.append(f"Untagged: {r}")
                left = []
            self._write_repos(repos)
            if not left and not users:
                out += self._delete(image)[0]
        return out

    def _delete(self, image: Image) -> tuple[list[str], int]:
        """Caller holds the images lock. Drop the image, then its layers that no other image uses;
        returns Docker's lines and the bytes freed."""
        import shutil
        shutil.rmtree(os.path.join(self.root.images, image.hex), ignore_errors=True)
        removed, freed = self.remove_unused_layers(image.layers)
        return [f"Deleted: {image.id}"] + [f"Deleted: {layer}" for layer in removed], freed

    def prune(self, all_unused: bool, in_use: set[str]) -> tuple[list[str], int]:
        """Remove dangling images (all unused ones with all_unused) that no container uses, and any
        layer no image refers to (what a killed pull leaves)."""
        out, reclaimed = [], 0
        with locked(self.root.lock_path("images")):
            repos = self._repos()
            for image in self.list():
                if image.id in in_use or (image.repo_tags and not all_unused):
                    continue
                for r in [r for r, i in repos.items() if i == image.id]:
                    repos.pop(r)
                    out.append(f"untagged: {r}")
                self._write_repos(repos)
                lines, freed = self._delete(image)
                out += [line.replace("Deleted: ", "deleted: ") for line in lines]
                reclaimed += freed
            reclaimed += self.remove_unused_layers()[1]
        return out, reclaimed

    def remove_unused_layers(self, candidates: list[str] | None = None) -> tuple[list[str], int]:
        """Remove those of candidates (default: every stored layer) that no image refers to; returns
        them and their bytes. Caller holds the images lock."""
        used = {layer for img in self.list() for layer in img.layers}
        removed, freed = [], 0
        for layer in self.layers.ids() if candidates is None else candidates:
            if layer not in used and self.layers.exists(layer):
                freed += self.layers.size(layer)
                self.layers.remove(layer)
                removed.append(layer)
        return removed, freed
