"""Where a copy lands: Docker's rules (go-archive CopyInfo / PrepareArchiveCopy), as pure functions.

A copy is modelled as Docker models it: the source becomes one entry (a file, or a directory with
everything under it) named after the source's last path component, and that entry is placed in an
"extraction directory", possibly under another name. The entry name "." means "the contents of the
source directory" (SRC/.), merged straight into the extraction directory.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from minicontainer.errors import MCError
from minicontainer.specs.cp import preserve_trailing


def clean(path: str) -> str:
    """Lexical cleaning of an absolute path, like Go's filepath.Clean ('..' above / stays at /)."""
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def in_container(path: str) -> str:
    """A container path, relative ones counting from the container's /, trailing markers kept."""
    return preserve_trailing(clean(path), path)


def specifies_current_dir(path: str) -> bool:
    return path == "." or path.endswith("/.")


def asserts_directory(path: str) -> bool:
    return path.endswith("/") or specifies_current_dir(path)


def split_dir_entry(path: str) -> tuple[str, str]:
    """("/a", "b") for /a/b and /a/b/; ("/a/b", ".") for /a/b/. ; ("/", ".") for / itself."""
    cleaned = clean(path)
    if cleaned == "/":
        return "/", "."
    if specifies_current_dir(path):
        return cleaned, "."
    return posixpath.dirname(cleaned), posixpath.basename(cleaned)


@dataclass(frozen=True)
class SourceInfo:
    """What `cp` found at its source: the path, whether it is a directory, and how it was named."""

    path: str          # as the user gave it (made absolute), trailing markers kept
    is_dir: bool
    rebase: str = ""   # with -L on a symlink: the link's own name, which the copied target takes

    @property
    def entry_name(self) -> str:
        return self.rebase or split_dir_entry(self.path)[1]


@dataclass(frozen=True)
class DestInfo:
    """What `cp` found at its destination: the path, whether it exists and is a directory."""

    path: str          # after following symlinks
    exists: bool
    is_dir: bool = False


def placement(src: SourceInfo, dst: DestInfo) -> tuple[str, str]:
    """(extraction directory, name the source's entry takes in it). Docker's table:
    existing dir -> into it under the source's name; otherwise the entry is renamed to DEST's name."""
    dst_dir, dst_base = split_dir_entry(dst.path)
    if dst.exists and dst.is_dir:
        return clean(dst.path), src.entry_name
    if dst.exists and src.is_dir:
        raise MCError("cannot copy directory")
    if not dst.exists and not src.is_dir and asserts_directory(dst.path):
        raise MCError("no such directory")
    return dst_dir, dst_base
