"""Extract a rootfs tarball without letting any entry land outside the destination.

Refused: absolute names, '..' components, entries (or hard-link targets) reached through a symlink
from the same archive (writing through it would escape), hard links to symlinks. Kept: modes
including setuid bits, ownership, device nodes: a real rootfs needs them, so tarfile's 'data'
filter is too strict and we check entries ourselves instead.
"""

from __future__ import annotations

import posixpath
import tarfile

from minicontainer.errors import MCError


class UnsafeArchive(MCError):
    exit_code = 1


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    norm = posixpath.normpath(name) if name else "."
    return "" if norm == "." else norm


def _escapes(raw: str, clean: str) -> bool:
    return raw.startswith("/") or clean == ".." or clean.startswith("../")


def _through_symlink(name: str, symlinks: set[str]) -> str | None:
    parent = name
    while "/" in parent:
        parent = parent.rsplit("/", 1)[0]
        if parent in symlinks:
            return parent
    return None


def check_members(members: list[tarfile.TarInfo]) -> list[tarfile.TarInfo]:
    symlinks: set[str] = set()
    safe = []
    for m in members:
        name = _clean(m.name)
        if not name:
            continue
        if _escapes(m.name, name):
            raise UnsafeArchive(f"refusing archive entry {m.name!r}: it would land outside the rootfs")
        via = _through_symlink(name, symlinks)
        if via:
            raise UnsafeArchive(f"refusing archive entry {m.name!r}: it would be written through the symlink {via!r}")
        if m.islnk():
            target = _clean(m.linkname)
            if _escapes(m.linkname, target) or target in symlinks or _through_symlink(target, symlinks):
                raise UnsafeArchive(f"invalid hardlink {m.name!r} -> {m.linkname!r}")
            m.linkname = target
        if m.issym():
            symlinks.add(name)
        m.name = name
        safe.append(m)
    return safe


def extract(path: str, dest: str) -> None:
    """Extract tarball at path (any compression tarfile knows) into the empty directory dest."""
    try:
        with tarfile.open(path) as tar:
            members = check_members(tar.getmembers())
            # Our own checks above replace tarfile's filters (absent before Python 3.11.4).
            extra = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
            tar.extractall(dest, members=members, numeric_owner=True, **extra)
    except tarfile.TarError as exc:
        raise MCError(f"Error processing tar file: {exc}") from None
