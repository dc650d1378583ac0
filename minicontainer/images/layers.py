"""Layers stored once, by the digest of their uncompressed tar (diff_id), shared between images.

<images>/layers/<hex>/diff is the unpacked layer (an overlayfs lower dir), <hex>/size its byte
count. A layer is unpacked into a staging directory and renamed into place only once its diff_id
checked out, so a half-unpacked or wrong layer is never visible.
"""

from __future__ import annotations

import os

from minicontainer.errors import MCError
from minicontainer.store.locks import locked
from minicontainer.store.root import StateRoot

TYPE_CHECKING = False  # typing costs ms to import on every command; mypy takes any TYPE_CHECKING as true
if TYPE_CHECKING:
    from typing import BinaryIO

# shutil, tempfile, tarfile and the decompressors load only when a layer is written or removed:
# every command imports this module (through the image store), few of them unpack anything.


class LayerMismatch(MCError):
    exit_code = 1


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


class LayerStore:
    def __init__(self, root: StateRoot):
        self.root = root
        self.dir = os.path.join(root.images, "layers")

    def path(self, layer_id: str) -> str:
        return os.path.join(self.dir, layer_id.split(":", 1)[1], "diff")

    def exists(self, layer_id: str) -> bool:
        return os.path.isdir(self.path(layer_id))

    def size(self, layer_id: str) -> int:
        try:
            with open(os.path.join(self.dir, layer_id.split(":", 1)[1], "size")) as f:
                return int(f.read())
        except (FileNotFoundError, ValueError):
            return 0

    def ids(self) -> list[str]:
        try:
            return ["sha256:" + d for d in os.listdir(self.dir) if len(d) == 64]
        except FileNotFoundError:
            return []

    def staging(self) -> str:
        import tempfile
        os.makedirs(self.dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix="layer-", dir=self.root.tmp)
        os.mkdir(os.path.join(staging, "diff"), 0o755)
        return staging

    def add_tar(self, raw: BinaryIO, compression_kind: str, expected: str | None) -> tuple[str, bool]:
        """Unpack a layer tar; return (diff_id, newly added). expected: the diff_id the image config
        names (a mismatch is refused); None to take the computed one (`import`)."""
        import shutil

        from minicontainer.images import compression, layerfs
        staging = self.staging()
        try:
            hashing = compression.Hashing(compression.open_stream(raw, compression_kind))
            layerfs.apply(hashing, os.path.join(staging, "diff"))
            diff_id = hashing.drain()
            if expected and diff_id != expected:
                raise LayerMismatch(f"layer verification failed: the unpacked layer is {diff_id}, "
                                    f"the image config says {expected}")
            return diff_id, self.commit(staging, diff_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def commit(self, staging: str, layer_id: str) -> bool:
        """Move a filled staging dir into place (or drop it if another pull got there first)."""
        import shutil
        with open(os.path.join(staging, "size"), "w") as f:
            f.write(str(dir_size(os.path.join(staging, "diff"))))
        final = os.path.dirname(self.path(layer_id))
        with locked(self.root.lock_path("images")):
            if os.path.isdir(final):
                shutil.rmtree(staging)
                return False
            os.rename(staging, final)
            return True

    def remove(self, layer_id: str) -> None:
        """Caller holds the images lock and knows no image refers to the layer."""
        import shutil
        final = os.path.dirname(self.path(layer_id))
        if os.path.isdir(final):
            gone = final + ".removing"
            os.rename(final, gone)  # out of sight at once, then deleted
            shutil.rmtree(gone, ignore_errors=True)
