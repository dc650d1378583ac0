"""Decompressing layer streams: gzip and xz/bzip2 from the standard library, zstd from `zstandard`."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
from typing import BinaryIO

from minicontainer.errors import MCError

_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"\xfd7zXZ": "xz", b"BZh": "bzip2"}


def sniff(stream: io.BufferedReader) -> str:
    head = stream.peek(6)[:6]
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return "none"


def open_stream(raw: BinaryIO, kind: str) -> BinaryIO:
    """A readable stream of the uncompressed bytes. kind: none, gzip, zstd, xz, bzip2 or auto."""
    if kind == "auto":
        raw = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
        kind = sniff(raw)
    if kind == "none":
        return raw
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise MCError("this layer is zstd-compressed and the zstandard module is not installed "
                          "(scripts/setup installs it)", 125) from None
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    raise MCError(f"unsupported layer compression {kind!r}", 125)


class Hashing(io.RawIOBase):
    """Passes reads through while hashing them: a layer's diff_id is the sha256 of its uncompressed tar."""

    def __init__(self, inner: BinaryIO):
        self.inner, self.sha = inner, hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = self.inner.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.sha.update(data)
        self.size += n
        return n

    def drain(self) -> str:
        """Read what the tar reader left (end-of-archive padding) and return 'sha256:<hex>'."""
        while chunk := self.inner.read(1 << 20):
            self.sha.update(chunk)
            self.size += len(chunk)
        return "sha256:" + self.sha.hexdigest()
