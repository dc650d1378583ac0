"""The registry token handshake (distribution's token auth, what Docker Hub uses).

An anonymous request gets `401` and `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the
client asks the realm for a token for that service and scope and repeats the request with
`Authorization: Bearer <token>`. Pure parsing here; the HTTP goes through the client's opener.
"""

from __future__ import annotations

import json
import re
import urllib.parse

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


class Challenge:
    def __init__(self, scheme: str, params: dict[str, str]):
        self.scheme, self.params = scheme, params

    def __repr__(self) -> str:
        return f"Challenge({self.scheme!r}, {self.params!r})"


def parse_challenge(header: str) -> Challenge:
    """'Bearer realm="https://auth.docker.io/token",service="registry.docker.io"' -> Challenge."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        quoted, bare = m.group(2), m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        pos = m.end()
    return Challenge(scheme.lower(), params)


def token_url(challenge: Challenge, scope: str) -> str:
    """Where to ask for a token. The challenge's own scope wins: the registry knows what it wants."""
    realm = challenge.params.get("realm")
    if not realm:
        raise ValueError("the registry asked for a token but named no realm")
    query = {}
    if challenge.params.get("service"):
        query["service"] = challenge.params["service"]
    query["scope"] = challenge.params.get("scope") or scope
    sep = "&" if "?" in realm else "?"
    return realm + sep + urllib.parse.urlencode(query)


def read_token(body: bytes) -> str:
    """A token endpoint answers {"token": ...} or the OAuth2 spelling {"access_token": ...}."""
    doc = json.loads(body)
    token = doc.get("token") or doc.get("access_token")
    if not token:
        raise ValueError("the token endpoint answered without a token")
    return token
