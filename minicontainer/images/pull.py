"""`pull`: resolve a reference to one platform's manifest, fetch config and layers, record the image.

Order of work (each step verified before the next uses it):
  manifest by tag (digest checked against Docker-Content-Digest) -> for an index, this platform's
  entry, fetched by digest -> config blob (its sha256 is the image ID) -> each layer blob streamed
  to a temp file while hashed, then unpacked and its diff_id checked against the config -> image
  recorded and tagged. A failure anywhere leaves no image and no layer this pull added.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
from concurrent.futures import ThreadPoolExecutor

from minicontainer.errors import MCError
from minicontainer.images.store import Image, ImageStore
from minicontainer.registry import mediatypes
from minicontainer.registry import platform as plat
from minicontainer.registry.client import RegistryClient, RegistryError, registry_error
from minicontainer.specs.refs import ImageRef
from minicontainer.store.locks import locked

PARALLEL_DOWNLOADS = 3  # Docker's max-concurrent-downloads default


class _Quiet:
    def line(self, text: str) -> None:
        pass

    def layer(self, short: str, status: str, current: int = 0, total: int = 0) -> None:
        pass


def pull(store: ImageStore, ref: ImageRef, progress=None, want: plat.Platform | None = None,
         insecure: bool = False) -> Image:
    progress = progress or _Quiet()
    client = RegistryClient(ref.domain, insecure=insecure)
    added: list[str] = []
    try:
        return _pull(store, client, ref, progress, want or plat.host(), added)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, ref) from None
    except OSError as exc:  # a connection dropped mid-body, a full disk...
        raise RegistryError(f"error pulling {ref.key}: {exc.strerror or exc}") from None
    finally:
        if added:
            _forget_unused(store, added)


def _pull(store, client, ref, progress, want, added) -> Image:
    top = client.manifest(ref.path, ref.reference)
    progress.line(f"{ref.reference}: Pulling from {ref.path}")
    manifest = _platform_manifest(client, ref, top, want)
    try:
        body = json.loads(manifest.body)
        config_desc, layer_descs = body["config"], body["layers"]
    except (ValueError, KeyError, TypeError):
        raise RegistryError(f"invalid manifest {manifest.digest} for {ref.key}") from None
    config_bytes = client.blob_bytes(ref.path, config_desc["digest"])
    config = json.loads(config_bytes)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(layer_descs):
        raise RegistryError(f"invalid image {ref.key}: the manifest has {len(layer_descs)} layers, "
                            f"the config {len(diff_ids)}")
    image_exists = store.find(config_desc["digest"]) is not None
    jobs = []
    for desc, diff_id in zip(layer_descs, diff_ids, strict=True):
        short = desc["digest"].split(":", 1)[1][:12]
        if store.layers.exists(diff_id):
            progress.layer(short, "Already exists")
        else:
            progress.layer(short, "Pulling fs layer")
            jobs.append((desc, diff_id, short))
    if jobs:
        with ThreadPoolExecutor(min(PARALLEL_DOWNLOADS, len(jobs))) as pool:
            futures = [pool.submit(_fetch_layer, store, client, ref, desc, diff_id, short, progress)
                       for desc, diff_id, short in jobs]
            errors = []
            for f in futures:
                try:
                    if f.result():
                        added.append(f.result())
                except BaseException as exc:  # keep collecting so every added layer is known
                    errors.append(exc)
            if errors:
                raise errors[0]
    refs = [ref.key] if ref.digest else [ref.key, f"{ref.familiar_name}@{top.digest}"]
    image = store.commit(config_bytes, refs)
    added.clear()  # the image owns them now
    progress.line(f"Digest: {top.digest}")
    status = "Image is up to date for" if image_exists else "Downloaded newer image for"
    progress.line(f"Status: {status} {ref.key}")
    return image


def _platform_manifest(client, ref: ImageRef, top, want: plat.Platform):
    try:
        body = json.loads(top.body)
        kind = mediatypes.kind_of(top.media_type, body)
    except ValueError as exc:
        raise RegistryError(f"{ref.key}: {exc}") from None
    if kind == "manifest":
        return top
    entry = plat.choose(body.get("manifests") or [], want)
    if entry is None:
        raise RegistryError(f"no matching manifest for {want} in the manifest list entries")
    return client.manifest(ref.path, entry["digest"])


def _fetch_layer(store, client, ref, desc, diff_id, short, progress) -> str | None:
    """Download one layer blob (digest checked), then unpack it (diff_id checked). Returns the layer
    id if this call added it."""
    compression = mediatypes.LAYER_COMPRESSION.get(desc.get("mediaType", ""), "auto")
    total = int(desc.get("size") or 0)
    with tempfile.TemporaryFile(dir=store.root.tmp) as blob:
        client.blob_to_file(ref.path, desc["digest"], blob,
                            lambda n: progress.layer(short, "Downloading", n, total))
        progress.layer(short, "Download complete")
        blob.seek(0)
        progress.layer(short, "Extracting")
        _, new = store.layers.add_tar(blob, compression, diff_id)
    progress.layer(short, "Pull complete")
    return diff_id if new else None


def _forget_unused(store: ImageStore, added: list[str]) -> None:
    """A failed pull: drop the layers it added that no image took (another pull may have, meanwhile).
    Known race: a concurrent pull that saw such a layer as present and skipped it fails at commit
    with "layer ... is not in the layer store" (no lock spans a whole pull); pulling again fixes it."""
    with locked(store.root.lock_path("images")):
        store.remove_unused_layers(added)


def _http_error(exc: urllib.error.HTTPError, ref: ImageRef) -> MCError:
    """Docker's wording (moby distribution/errors.go) for what registries answer."""
    code, message = registry_error(exc)
    cause = f"{code.lower().replace('_', ' ')}: {message}" if code else message
    if code in ("UNAUTHORIZED", "DENIED"):
        return RegistryError(f"pull access denied for {ref.familiar_name}, repository does not exist or may require "
                             f"'docker login': denied: requested access to the resource is denied")
    if code == "MANIFEST_UNKNOWN" or (exc.code == 404 and "/manifests/" in exc.url and code != "NAME_UNKNOWN"):
        return RegistryError(f"manifest for {ref.key} not found: {cause or 'manifest unknown: manifest unknown'}")
    if code == "NAME_UNKNOWN":
        return RegistryError(f"repository {ref.familiar_name} not found: {cause}")
    if code == "BLOB_UNKNOWN" or (exc.code == 404 and "/blobs/" in exc.url):
        return RegistryError(f"blob unknown to registry: {exc.url.rsplit('/', 1)[-1]}")
    return RegistryError(f"error pulling {ref.key}: {exc.code} {exc.reason}: {cause}")
