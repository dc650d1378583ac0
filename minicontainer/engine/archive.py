"""HEAD, GET and PUT /containers/{id}/archive: what `docker cp` and docker-py's get_archive and
put_archive use. The client does cp's own logic (copy into or rename); the server only stats a
path (X-Docker-Container-Path-Stat, with Go's FileMode bits), tars one, or untars into a directory,
through the same confined lookups as `minicontainer cp` (cp/transfer.py)."""

from __future__ import annotations

import base64
import json
import posixpath
import stat
from datetime import datetime, timezone

from minicontainer.engine.errors import ApiError
from minicontainer.engine.routes import route

STAT_HEADER = "X-Docker-Container-Path-Stat"
# Go's os.FileMode type bits (io/fs): what the CLI decodes from the stat header
_GO_TYPE = {stat.S_IFDIR: 1 << 31, stat.S_IFLNK: 1 << 27, stat.S_IFIFO: 1 << 25, stat.S_IFSOCK: 1 << 24,
            stat.S_IFBLK: 1 << 26, stat.S_IFCHR: (1 << 26) | (1 << 21)}


def go_file_mode(mode: int) -> int:
    out = stat.S_IMODE(mode) & 0o777 | _GO_TYPE.get(stat.S_IFMT(mode), 0)
    if mode & stat.S_ISUID:
        out |= 1 << 23
    if mode & stat.S_ISGID:
        out |= 1 << 22
    if mode & stat.S_ISVTX:
        out |= 1 << 20
    return out


def _path(req) -> str:
    path = req.query.get("path", "")
    if not path:
        raise ApiError(400, "path is required")  # docker: "Could not find the file" needs a path to say it of
    return path if path.startswith("/") else "/" + path


def _stat(ctr, cid: str, path: str) -> dict:
    from minicontainer.cp.paths import clean
    cleaned = clean(path)
    try:
        st = ctr.lstat(cleaned)
    except (FileNotFoundError, NotADirectoryError):
        raise ApiError(404, f"Could not find the file {path} in container {cid}") from None
    link = ""
    if stat.S_ISLNK(st.st_mode):
        link, _ = ctr.follow(cleaned)
    mtime = datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat().replace("+00:00", "Z")
    return {"name": posixpath.basename(cleaned) or "/", "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": mtime, "linkTarget": link}


def _header(info: dict) -> dict:
    return {STAT_HEADER: base64.b64encode(json.dumps(info).encode()).decode()}


@route("HEAD", "/containers/{ref}/archive")
def head(rt, req, resp, ref: str) -> None:
    from minicontainer.runtime.cp import in_container_fs
    rec, path = rt.get(ref), _path(req)
    info = in_container_fs(rt, rec, lambda ctr: _stat(ctr, ref, path))
    resp.send(200, b"", "", _header(info))


@route("GET", "/containers/{ref}/archive")
def get(rt, req, resp, ref: str) -> None:
    from minicontainer.cp.transfer import archive_out
    from minicontainer.runtime.cp import in_container_fs
    rec, path = rt.get(ref), _path(req)

    def work(ctr) -> None:
        info = _stat(ctr, ref, path)  # a missing path is a 404 before anything is sent
        out = resp.stream(200, "application/x-tar", _header(info), buffer=1 << 16)
        archive_out(ctr, ref, path, out)
        out.close()
    resp.close = True  # a stopped container's tar is written by a helper process: nothing more on this connection
    in_container_fs(rt, rec, work)


@route("PUT", "/containers/{ref}/archive")
def put(rt, req, resp, ref: str) -> None:
    from minicontainer.cp.transfer import archive_in
    from minicontainer.runtime.cp import container_user, in_container_fs
    rec, path = rt.get(ref), _path(req)

    def work(ctr) -> None:
        owner = container_user(ctr, rec.config.get("User", "")) if req.flag("copyUIDGID") else None
        try:
            archive_in(ctr, ref, path, req.body, owner)
        except OSError as exc:
            from minicontainer.kernel.helper import describe
            raise ApiError(500, describe(exc)) from None
    resp.close = True  # the body may have been read by a helper process: this connection's reader is behind
    in_container_fs(rt, rec, work)
    resp.send(200)


