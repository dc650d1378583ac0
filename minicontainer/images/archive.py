"""`load -i`: images from a `docker save` archive or an OCI image layout tarball.

docker save: manifest.json lists each image's config file, RepoTags and layer tars (bottom first).
OCI layout: index.json points at manifests (or at an index, where this platform's entry is taken)
in blobs/sha256/; names come from the io.containerd.image.name or org.opencontainers.image.ref.name
annotations. Every blob is checked against its digest, every layer against the config's diff_ids.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile

from minicontainer.errors import MCError
from minicontainer.images.store import ImageStore
from minicontainer.registry import mediatypes
from minicontainer.registry import platform as plat
from minicontainer.specs.refs import normalize

_LAYERED = (mediatypes.OCI_MANIFEST, mediatypes.DOCKER_MANIFEST)


class _Archive:
    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        # docker save links <id>/layer.tar to the blob; tarfile follows links inside the archive.
        self.members = {posixpath.normpath(m.name).lstrip("/"): m for m in tar.getmembers() if m.isfile() or m.issym()}

    def has(self, name: str) -> bool:
        return posixpath.normpath(name) in self.members

    def open(self, name: str):
        try:
            return self.tar.extractfile(self.members[posixpath.normpath(name)])
        except KeyError:
            raise MCError(f"invalid archive: {name} is missing", 1) from None

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def blob(self, digest: str, verify: bool = True) -> str:
        algo, _, hexd = digest.partition(":")
        name = f"blobs/{algo}/{hexd}"
        if verify:
            h = hashlib.sha256()
            with self.open(name) as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            if algo != "sha256" or h.hexdigest() != hexd:
                raise MCError(f"invalid archive: blob {digest} does not match its digest", 1)
        return name


def load(store: ImageStore, path: str) -> list[str]:
    """Load every image in the archive; return the lines Docker prints ('Loaded image: ...')."""
    try:
        with tarfile.open(path) as tar:
            archive = _Archive(tar)
            if archive.has("manifest.json"):
                return _docker(store, archive)
            if archive.has("index.json"):
                return _oci(store, archive)
    except tarfile.TarError as exc:
        raise MCError(f"Error processing tar file: {exc}", 1) from None
    raise MCError("invalid archive: it has neither manifest.json (docker save) nor index.json (OCI layout)", 1)


def _add_image(store: ImageStore, archive: _Archive, config_bytes: bytes, layer_names: list[str],
               refs: list[str]) -> list[str]:
    config = json.loads(config_bytes)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(layer_names):
        raise MCError(f"invalid archive: {len(layer_names)} layers, but the image config names {len(diff_ids)}", 1)
    for name, diff_id in zip(layer_names, diff_ids, strict=True):
        if not store.layers.exists(diff_id):
            with archive.open(name) as f:
                store.layers.add_tar(f, "auto", diff_id)
    image = store.commit(config_bytes, refs)
    return [f"Loaded image: {r}" for r in refs] or [f"Loaded image ID: {image.id}"]


def _docker(store: ImageStore, archive: _Archive) -> list[str]:
    out = []
    for entry in json.loads(archive.read("manifest.json")):
        refs = [normalize(t) for t in entry.get("RepoTags") or []]
        out += _add_image(store, archive, archive.read(entry["Config"]), list(entry.get("Layers") or []), refs)
    return out


def _oci(store: ImageStore, archive: _Archive) -> list[str]:
    out = []
    index = json.loads(archive.read("index.json"))
    for desc in index.get("manifests") or []:
        refs = _oci_refs(desc.get("annotations") or {})
        manifest = desc
        body = json.loads(archive.read(archive.blob(desc["digest"])))
        if mediatypes.kind_of(desc.get("mediaType", ""), body) == "index":
            manifest = plat.choose(body.get("manifests") or [], plat.host())
            if manifest is None:
                raise MCError(f"no matching manifest for {plat.host()} in the archive's index", 1)
            body = json.loads(archive.read(archive.blob(manifest["digest"])))
        config_bytes = archive.read(archive.blob(body["config"]["digest"]))
        layers = [archive.blob(layer["digest"]) for layer in body.get("layers") or []]
        out += _add_image(store, archive, config_bytes, layers, refs)
    return out


def _oci_refs(annotations: dict) -> list[str]:
    name = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name", "")
    # A bare ref.name is often only a tag ("latest"): it names no repository, so the image stays untagged.
    if name and ("/" in name or ":" in name):
        try:
            return [normalize(name)]
        except MCError:
            return []
    return []
