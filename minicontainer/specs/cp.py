"""`cp SRC DST` arguments, parsed as Docker's CLI does (cli/command/container/cp.go)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from minicontainer.errors import MCError


@dataclass(frozen=True)
class CopyRequest:
    """One `cp` command, parsed: which side is the container, the paths, the flags."""

    container: str
    to_container: bool
    container_path: str   # as given, relative paths count from the container's /
    local_path: str       # absolute, trailing "/" or "/." kept; "-" for a tar stream on stdin/stdout
    follow_link: bool = False
    archive: bool = False
    quiet: bool = False


def split_cp_arg(arg: str) -> tuple[str, str]:
    """("container", "path") or ("", local path). An absolute path is local; so is anything whose part
    before the first ':' starts with '.', so ./file:name.txt stays a local file name."""
    if arg.startswith("/"):
        return "", arg
    ctr, sep, path = arg.partition(":")
    if not sep or ctr.startswith("."):
        return "", arg
    return ctr, path


def preserve_trailing(cleaned: str, original: str) -> str:
    """Give a cleaned path back the trailing '/.' or '/' the user wrote: both change what cp does."""
    if original.endswith("/.") and not cleaned.endswith("/."):
        return cleaned.rstrip("/") + "/."
    if original.endswith("/") and not cleaned.endswith("/"):
        return cleaned + "/"
    return cleaned


def resolve_local(path: str) -> str:
    if path == "-":
        return path
    return preserve_trailing(os.path.abspath(path), path)


def parse(src: str, dst: str, *, follow_link=False, archive=False, quiet=False) -> CopyRequest:
    if not src:
        raise MCError("source can not be empty")
    if not dst:
        raise MCError("destination can not be empty")
    src_ctr, src_path = split_cp_arg(src)
    dst_ctr, dst_path = split_cp_arg(dst)
    if src_ctr and dst_ctr:
        raise MCError("copying between containers is not supported")
    if not src_ctr and not dst_ctr:
        raise MCError("must specify at least one container source")
    if src_ctr:
        return CopyRequest(src_ctr, False, src_path, resolve_local(dst_path), follow_link, archive, quiet)
    return CopyRequest(dst_ctr, True, dst_path, resolve_local(src_path), follow_link, archive, quiet)
