"""A client of the registry HTTP API v2 (OCI distribution): manifests and blobs, digests checked.

The same code talks to Docker Hub and to a local registry; the only difference is the token
handshake, which a registry asks for with a 401 (auth.py). HTTPS everywhere except loopback
registries and those named insecure (Docker's rule for `localhost:5000` / --insecure-registry).
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from minicontainer.errors import DaemonError
from minicontainer.registry import auth, mediatypes

DOCKER_HUB_API = "registry-1.docker.io"
CHUNK = 1 << 20


class RegistryError(DaemonError):
    exit_code = 125


@dataclass
class Fetched:
    """A registry response: its body or file, and the headers that matter."""

    media_type: str
    body: bytes
    digest: str


def is_insecure(domain: str) -> bool:
    """Loopback registries speak plain HTTP; so do any listed in MINICONTAINER_INSECURE_REGISTRIES."""
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 or domain.startswith("[") else domain
    host = host.strip("[]")
    listed = [d for d in os.environ.get("MINICONTAINER_INSECURE_REGISTRIES", "").split(",") if d]
    if domain in listed or host in listed or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoAuthAcrossHosts(urllib.request.HTTPRedirectHandler):
    """Follow redirects (Docker Hub sends blobs to a CDN) but never carry our token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.headers.pop("Authorization", None)
            new.unredirected_hdrs.pop("Authorization", None)
        return new


class RegistryClient:
    def __init__(self, domain: str, insecure: bool = False, timeout: float = 30.0):
        self.domain = domain
        host = DOCKER_HUB_API if domain == "docker.io" else domain
        scheme = "http" if insecure or is_insecure(domain) else "https"
        self.base = f"{scheme}://{host}/v2/"
        self.timeout = timeout
        handlers: list = [_NoAuthAcrossHosts()]
        if scheme == "http":
            handlers.append(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
        self.opener = urllib.request.build_opener(*handlers)
        self._tokens: dict[str, str] = {}

    # ---------------------------------------------------------------- requests
    def _open(self, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        try:
            return self.opener.open(urllib.request.Request(url, headers=headers), timeout=self.timeout)
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, socket.gaierror):
                reason = f"dial tcp: lookup {urllib.parse.urlsplit(url).hostname}: no such host"
            raise RegistryError(f'Get "{url}": {reason}') from None

    def get(self, path: str, scope: str, accept: str = "") -> http.client.HTTPResponse:
        """GET base+path; on a 401 with a Bearer challenge, fetch a token for scope and try once more."""
        url = self.base + path
        headers = {"Accept": accept} if accept else {}
        for attempt in (1, 2):
            if scope in self._tokens:
                headers["Authorization"] = "Bearer " + self._tokens[scope]
            try:
                return self._open(url, headers)
            except urllib.error.HTTPError as exc:
                challenge = exc.headers.get("WWW-Authenticate", "")
                if exc.code == 401 and attempt == 1 and challenge.lower().startswith("bearer"):
                    exc.close()
                    self._tokens[scope] = self._fetch_token(auth.parse_challenge(challenge), scope)
                    continue
                raise

    def _fetch_token(self, challenge: auth.Challenge, scope: str) -> str:
        url = auth.token_url(challenge, scope)
        try:
            with self._open(url, {}) as resp:
                return auth.read_token(resp.read())
        except urllib.error.HTTPError as exc:
            raise RegistryError(f"failed to fetch an auth token from {url}: {exc.code} {exc.reason}") from None
        except ValueError as exc:
            raise RegistryError(f"failed to fetch an auth token from {url}: {exc}") from None

    # ---------------------------------------------------------------- API
    def manifest(self, repo: str, reference: str) -> Fetched:
        """A manifest or index by tag or digest, its bytes checked against the digest asked for or,
        for a tag, against the Docker-Content-Digest the registry announces."""
        with self.get(f"{repo}/manifests/{reference}", _scope(repo), mediatypes.ACCEPT) as resp:
            body = resp.read()
            media_type = resp.headers.get("Content-Type", "")
            announced = resp.headers.get("Docker-Content-Digest", "")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        expected = reference if reference.startswith("sha256:") else announced
        if expected and expected != digest:
            raise RegistryError(f"manifest verification failed for digest {expected}")
        return Fetched(media_type, body, digest)

    def blob_bytes(self, repo: str, digest: str, limit: int = 16 << 20) -> bytes:
        """A small blob (an image config) in memory, digest checked."""
        with self.get(f"{repo}/blobs/{digest}", _scope(repo)) as resp:
            body = resp.read(limit + 1)
        if len(body) > limit:
            raise RegistryError(f"blob {digest} is larger than {limit} bytes")
        check_digest(digest, hashlib.sha256(body).hexdigest(), "blob")
        return body

    def blob_to_file(self, repo: str, digest: str, out, progress: Callable[[int], None] | None = None) -> int:
        """Stream a blob into the open file `out`, hashing as it arrives; a mismatch raises and the caller
        throws the file away. Returns the byte count."""
        h, total = hashlib.sha256(), 0
        with self.get(f"{repo}/blobs/{digest}", _scope(repo)) as resp:
            while chunk := resp.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
                total += len(chunk)
                if progress:
                    progress(total)
        check_digest(digest, h.hexdigest(), "filesystem layer")
        return total


def _scope(repo: str) -> str:
    return f"repository:{repo}:pull"


def check_digest(expected: str, got_hex: str, what: str) -> None:
    algo, _, want = expected.partition(":")
    if algo != "sha256":
        raise RegistryError(f"unsupported digest algorithm {algo!r} in {expected}")
    if got_hex != want:
        raise RegistryError(f"{what} verification failed for digest {expected}")


def registry_error(exc: urllib.error.HTTPError) -> tuple[str, str]:
    """The first (code, message) of a registry's JSON error body, or a code made from the status."""
    try:
        errors = json.loads(exc.read() or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    if errors:
        return str(errors[0].get("code", "")), str(errors[0].get("message", ""))
    return {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND"}.get(exc.code, ""), exc.reason or ""
