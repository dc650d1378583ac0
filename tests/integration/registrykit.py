"""A real registry on 127.0.0.1 (Debian's docker-registry) and a small kit to fill it with images
the tests build: layer tars made with tarfile, pushed through the registry HTTP API v2."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request

OCI = {"manifest": "application/vnd.oci.image.manifest.v1+json", "index": "application/vnd.oci.image.index.v1+json",
       "config": "application/vnd.oci.image.config.v1+json", "tar": "application/vnd.oci.image.layer.v1.tar",
       "gzip": "application/vnd.oci.image.layer.v1.tar+gzip", "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}
DOCKER = {"manifest": "application/vnd.docker.distribution.manifest.v2+json",
          "index": "application/vnd.docker.distribution.manifest.list.v2+json",
          "config": "application/vnd.docker.container.image.v1+json",
          "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip"}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    def __init__(self, workdir: str):
        self.storage = os.path.join(workdir, "storage")
        os.makedirs(self.storage)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        config = os.path.join(workdir, "config.yml")
        with open(config, "w") as f:
            f.write("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
                    f"http:\n  addr: {self.host}\n")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"docker-registry did not start: {self.proc.stderr.read()!r}") from exc
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def _req(self, method: str, url: str, body: bytes = b"", ctype: str = "application/octet-stream"):
        req = urllib.request.Request(url if url.startswith("http") else f"http://{self.host}{url}", data=body or None,
                                     method=method, headers={"Content-Type": ctype})
        return urllib.request.urlopen(req, timeout=30)

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha(data)
        with self._req("POST", f"/v2/{repo}/blobs/uploads/") as r:
            location = r.headers["Location"]
        sep = "&" if "?" in location else "?"
        with self._req("PUT", f"{location}{sep}digest={digest}", data):
            pass
        return digest

    def push_manifest(self, repo: str, ref: str, manifest: dict, media_type: str) -> tuple[str, int]:
        body = json.dumps(manifest).encode()
        with self._req("PUT", f"/v2/{repo}/manifests/{ref}", body, media_type):
            pass
        return sha(body), len(body)

    def blob_file(self, digest: str) -> str:
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data")

    def push_image(self, repo: str, tag: str | None, layers: list[bytes], config: dict | None = None,
                   kind: str = "oci", compression: str = "gzip", arch: str = "amd64") -> tuple[str, int, str]:
        """layers: uncompressed tars, bottom first. Returns (manifest digest, size, config digest)."""
        types = OCI if kind == "oci" else DOCKER
        descs = []
        for raw in layers:
            blob = compress(raw, compression)
            descs.append({"mediaType": types[compression if kind == "oci" else "gzip"], "digest": self.push_blob(repo, blob),
                          "size": len(blob)})
        cfg = {"architecture": arch, "os": "linux", "created": "2026-01-02T03:04:05Z",
               "config": config or {}, "rootfs": {"type": "layers", "diff_ids": [sha(raw) for raw in layers]}}
        cfg_bytes = json.dumps(cfg).encode()
        manifest = {"schemaVersion": 2, "mediaType": types["manifest"],
                    "config": {"mediaType": types["config"], "digest": self.push_blob(repo, cfg_bytes), "size": len(cfg_bytes)},
                    "layers": descs}
        if kind == "oci":
            del manifest["mediaType"]  # optional in OCI; the Content-Type must be enough
        digest, size = self.push_manifest(repo, tag or sha(json.dumps(manifest).encode()), manifest, types["manifest"])
        return digest, size, sha(cfg_bytes)

    def push_index(self, repo: str, tag: str, entries: list[tuple[dict, str, int]], kind: str = "oci") -> str:
        types = OCI if kind == "oci" else DOCKER
        index = {"schemaVersion": 2, "mediaType": types["index"],
                 "manifests": [{"mediaType": types["manifest"], "digest": d, "size": n, "platform": p}
                               for p, d, n in entries]}
        return self.push_manifest(repo, tag, index, types["index"])[0]


def compress(raw: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(raw, mtime=0)
    if how == "zstd":
        import zstandard
        return zstandard.ZstdCompressor().compress(raw)
    return raw


class Layer:
    """Builds one layer tar in memory: layer.file("etc/motd", b"hi").symlink(...)..."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _add(self, name: str, kind, data: bytes = b"", mode: int = 0o644, link: str = "", uid: int = 0, gid: int = 0,
             pax: dict | None = None) -> Layer:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.linkname, info.uid, info.gid, info.size = kind, mode, link, uid, gid, len(data)
        info.mtime = 1700000000
        if pax:
            info.pax_headers = pax
        self.tar.addfile(info, io.BytesIO(data) if data else None)
        return self

    def dir(self, name: str, mode: int = 0o755, **kw) -> Layer:
        return self._add(name, tarfile.DIRTYPE, mode=mode, **kw)

    def file(self, name: str, data: bytes, mode: int = 0o644, **kw) -> Layer:
        return self._add(name, tarfile.REGTYPE, data, mode, **kw)

    def symlink(self, name: str, target: str) -> Layer:
        return self._add(name, tarfile.SYMTYPE, mode=0o777, link=target)

    def hardlink(self, name: str, target: str) -> Layer:
        return self._add(name, tarfile.LNKTYPE, link=target)

    def chardev(self, name: str, major: int, minor: int, mode: int = 0o666) -> Layer:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.devmajor, info.devminor = tarfile.CHRTYPE, mode, major, minor
        self.tar.addfile(info)
        return self

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def busybox_layer() -> Layer:
    """A base layer: static busybox with sh, cat, ls... and the /etc files `id` reads."""
    layer = Layer().dir("bin").dir("etc").dir("tmp", 0o1777)
    with open(shutil.which("busybox") or "/bin/busybox", "rb") as f:
        layer.file("bin/busybox", f.read(), 0o755)
    for applet in ("sh", "cat", "ls", "id", "echo", "env", "pwd", "stat", "httpd", "test", "wget", "sleep", "getfattr"):
        layer.symlink(f"bin/{applet}", "busybox")
    layer.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
    layer.file("etc/group", b"root:x:0:\napp:x:1000:\nstaff:x:50:app\n")
    return layer
