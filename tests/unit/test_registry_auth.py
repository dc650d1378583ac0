"""The token handshake Docker Hub asks for, played by two small HTTP servers on 127.0.0.1: a registry
that answers 401 with a Bearer challenge and redirects blobs to a "CDN", and a token service."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from minicontainer.images.pull import _http_error
from minicontainer.registry.auth import parse_challenge, token_url
from minicontainer.registry.client import RegistryClient, RegistryError
from minicontainer.specs.refs import parse_reference

MANIFEST = json.dumps({"schemaVersion": 2, "layers": [], "config": {}}).encode()
BLOB = b"layer bytes" * 100
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


def _reply(handler: BaseHTTPRequestHandler, code: int, body: bytes, headers=()) -> None:
    handler.send_response(code)
    for k, v in headers:
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class _Servers:
    def __init__(self):
        self.token_queries: list[dict] = []
        self.cdn_auth: list[str | None] = []
        self.side = self._serve(self._side_handler())
        self.registry = self._serve(self._registry_handler())

    def _serve(self, handler):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    def url(self, server) -> str:
        return f"127.0.0.1:{server.server_address[1]}"

    def _side_handler(self):
        outer = self

        class Side(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                parsed = urllib.parse.urlsplit(self.path)
                if parsed.path == "/token":
                    query = dict(urllib.parse.parse_qsl(parsed.query))
                    outer.token_queries.append(query)
                    token = "good-token" if query.get("scope") == "repository:library/demo:pull" else "useless"
                    self._send(200, json.dumps({"token": token, "expires_in": 300}).encode())
                elif parsed.path == "/cdn/blob":
                    outer.cdn_auth.append(self.headers.get("Authorization"))
                    self._send(200, BLOB)

            _send = _reply

        return Side

    def _registry_handler(self):
        outer = self

        class Registry(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                repo = self.path.split("/")[2] + "/" + self.path.split("/")[3]
                if self.headers.get("Authorization") != "Bearer good-token":
                    challenge = (f'Bearer realm="http://{outer.url(outer.side)}/token",service="registry.test",'
                                 f'scope="repository:{repo}:pull"')
                    body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
                    self._send(401, body.encode(), [("WWW-Authenticate", challenge)])
                elif "/manifests/" in self.path:
                    digest = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
                    self._send(200, MANIFEST, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                               ("Docker-Content-Digest", digest)])
                elif "/blobs/" in self.path:
                    self._send(307, b"", [("Location", f"http://{outer.url(outer.side)}/cdn/blob")])

            _send = _reply

        return Registry

    def close(self):
        for s in (self.side, self.registry):
            s.shutdown()
            s.server_close()


@pytest.fixture
def servers():
    s = _Servers()
    yield s
    s.close()


def test_docker_hub_challenge_is_parsed():
    c = parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                        'scope="repository:library/nginx:pull"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                        "scope": "repository:library/nginx:pull"}
    assert token_url(c, "ignored") == ("https://auth.docker.io/token?service=registry.docker.io&"
                                       "scope=repository%3Alibrary%2Fnginx%3Apull")
    bare = parse_challenge('Bearer realm="https://ghcr.io/token", service=ghcr.io')
    assert token_url(bare, "repository:o/r:pull") == "https://ghcr.io/token?service=ghcr.io&scope=repository%3Ao%2Fr%3Apull"


def test_token_handshake_then_manifest_and_blob(servers):
    client = RegistryClient(servers.url(servers.registry))
    fetched = client.manifest("library/demo", "latest")
    assert fetched.body == MANIFEST and fetched.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert servers.token_queries == [{"service": "registry.test", "scope": "repository:library/demo:pull"}]
    import io
    out = io.BytesIO()
    assert client.blob_to_file("library/demo", BLOB_DIGEST, out) == len(BLOB) and out.getvalue() == BLOB
    assert servers.token_queries == [{"service": "registry.test", "scope": "repository:library/demo:pull"}]  # reused
    assert servers.cdn_auth == [None]  # the token never travels to the CDN's host


def test_a_token_that_does_not_open_the_repository_is_pull_access_denied(servers):
    client = RegistryClient(servers.url(servers.registry))
    with pytest.raises(urllib.error.HTTPError) as exc:
        client.manifest("library/nosuch", "latest")
    ref = parse_reference(f"{servers.url(servers.registry)}/nosuch")
    message = str(_http_error(exc.value, ref))
    assert message == (f"Error response from daemon: pull access denied for {ref.familiar_name}, repository does not "
                       "exist or may require 'docker login': denied: requested access to the resource is denied")


def test_blob_digest_mismatch(servers):
    client = RegistryClient(servers.url(servers.registry))
    import io
    with pytest.raises(RegistryError) as exc:
        client.blob_to_file("library/demo", "sha256:" + "0" * 64, io.BytesIO())
    assert str(exc.value).endswith("filesystem layer verification failed for digest sha256:" + "0" * 64)
