"""The image endpoints: list, inspect, create (a pull, its progress as a stream of JSON messages),
remove, load. A pull's errors before the first message are HTTP errors; after it they are an
{"errorDetail": ...} message in the stream, as moby's (the CLI exits 1 on it)."""

from __future__ import annotations

import json
import threading

from minicontainer.clock import parse_time
from minicontainer.engine.errors import ApiError, message_of
from minicontainer.engine.routes import route
from minicontainer.errors import MCError


def summary(rt, img) -> dict:
    """One entry of GET /images/json (image.Summary): Created in unix seconds."""
    users = len(rt.images_in_use(img.id))
    return {"Id": img.id, "ParentId": "", "RepoTags": img.repo_tags, "RepoDigests": img.repo_digests,
            "Created": int(parse_time(img.created)), "Size": img.size, "SharedSize": -1, "VirtualSize": img.size,
            "Labels": (img.config or {}).get("Labels") or {}, "Containers": users}


@route("GET", "/images/json")
def list_images(rt, req, resp) -> None:
    filters = req.json_filters()
    wanted = filters.get("reference", [])
    images = rt.images.list()
    if wanted:
        from fnmatch import fnmatch
        images = [i for i in images if any(fnmatch(t, w) or fnmatch(t, w + ":*") for t in i.repo_tags for w in wanted)]
    if "dangling" in filters:
        dangling = filters["dangling"][0] in ("true", "1")
        images = [i for i in images if (not i.repo_tags) == dangling]
    resp.json(200, [summary(rt, i) for i in images])


@route("GET", "/images/{name*}/json")
def inspect(rt, req, resp, name: str) -> None:
    from minicontainer.view.inspect import image_json
    resp.json(200, image_json(rt, rt.images.get(name)))


@route("POST", "/images/{name*}/tag")
def tag(rt, req, resp, name: str) -> None:
    repo, tag_ = req.query.get("repo", ""), req.query.get("tag", "")
    if not repo:
        raise ApiError(400, "repository name (repo) is required")
    rt.images.tag(name, f"{repo}:{tag_}" if tag_ else repo)
    resp.send(201)


@route("DELETE", "/images/{name*}")
def remove(rt, req, resp, name: str) -> None:
    lines = rt.remove_image(name, force=req.flag("force"))
    out = []
    for line in lines:  # "Untagged: busybox:latest", "Deleted: sha256:..."
        kind, _, what = line.partition(": ")
        out.append({kind: what})
    resp.json(200, out)


class JsonProgress:
    """What a pull reports (cli/progress.PullProgress's calls), as moby's JSON messages."""

    def __init__(self, out):
        self.out, self.lock = out, threading.Lock()

    def _send(self, message: dict) -> None:
        with self.lock:
            self.out.write(json.dumps(message).encode() + b"\r\n")

    def line(self, text: str) -> None:
        head, sep, rest = text.partition(": Pulling from ")
        if sep:  # "latest: Pulling from library/busybox" is {"status": "Pulling from ...", "id": "latest"}
            self._send({"status": f"Pulling from {rest}", "id": head})
        else:
            self._send({"status": text})

    def layer(self, short: str, status: str, current: int = 0, total: int = 0) -> None:
        message: dict = {"status": status, "progressDetail": {}, "id": short}
        if total:
            message["progressDetail"] = {"current": current, "total": total}
        self._send(message)


@route("POST", "/images/create")
def create(rt, req, resp) -> None:
    image, tag = req.query.get("fromImage", ""), req.query.get("tag", "")
    if req.query.get("fromSrc"):
        raise ApiError(501, "importing from a source (fromSrc) is not served by minicontainer: use `minicontainer import`")
    if not image:
        raise ApiError(400, "fromImage is required")
    ref = image if not tag else (f"{image}@{tag}" if tag.startswith("sha256:") else f"{image}:{tag}")
    from minicontainer.specs.refs import normalize
    normalize(ref)  # "invalid reference format" is a 400 before anything streams
    out = resp.stream(200, "application/json")
    try:
        rt.pull(ref, JsonProgress(out), req.query.get("platform", ""))
    except MCError as exc:
        message = message_of(exc)
        out.write(json.dumps({"errorDetail": {"message": message}, "error": message}).encode() + b"\r\n")
    out.close()


@route("POST", "/images/load")
def load(rt, req, resp) -> None:
    import tempfile

    from minicontainer.images.archive import load as load_archive
    with tempfile.NamedTemporaryFile(dir=rt.root.tmp, suffix=".tar") as tmp:
        while chunk := req.body.read(1 << 20):
            tmp.write(chunk)
        tmp.flush()
        lines = load_archive(rt.images, tmp.name)
    out = resp.stream(200, "application/json")
    for line in lines:
        out.write(json.dumps({"stream": line + "\n"}).encode() + b"\r\n")
    out.close()
