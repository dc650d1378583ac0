"""Image references: [DOMAIN/]NAME[:TAG][@DIGEST] with Docker's defaults, rules and messages.

`nginx` is docker.io/library/nginx:latest. The first path component is a registry domain only if
it has a '.' or a ':' or is `localhost` (Docker's splitDockerDomain); the local image index keys
images by the familiar form Docker shows (`nginx:alpine`, `localhost:5000/app:1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from minicontainer.errors import MCError

DEFAULT_DOMAIN = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
_NAME_RE = re.compile(rf"^{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageRef:
    """An image reference split as Docker splits it: registry domain, path, tag, digest."""

    domain: str          # "docker.io", "localhost:5000"
    path: str            # "library/nginx", "team/app"
    tag: str             # "latest" unless given (kept beside a digest, as Docker keeps it)
    digest: str = ""     # "sha256:..." when pinned

    @property
    def familiar_name(self) -> str:
        if self.domain != DEFAULT_DOMAIN:
            return f"{self.domain}/{self.path}"
        return self.path.removeprefix("library/")

    @property
    def key(self) -> str:
        """The local index entry: `nginx@sha256:...` for a digest, else `nginx:alpine`."""
        return f"{self.familiar_name}@{self.digest}" if self.digest else f"{self.familiar_name}:{self.tag}"

    @property
    def reference(self) -> str:
        """What a registry is asked for: the digest if pinned, else the tag."""
        return self.digest or self.tag


def _split(ref: str) -> tuple[str, str, str]:
    name, _, digest = ref.partition("@")
    tag = "latest"
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1:]
    if not _NAME_RE.match(name) or not _TAG_RE.match(tag) or (digest and not _DIGEST_RE.match(digest)):
        if name.lower() != name and _NAME_RE.match(name.lower()):
            raise MCError(f"invalid reference format: repository name ({name}) must be lowercase", 125)
        raise MCError("invalid reference format", 125)
    return name, tag, digest


def parse_reference(ref: str) -> ImageRef:
    name, tag, digest = _split(ref)
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain in ("index.docker.io", DEFAULT_DOMAIN):
        domain = DEFAULT_DOMAIN
        if "/" not in path:
            path = "library/" + path
    return ImageRef(domain, path, tag, digest)


def parse_image_ref(ref: str) -> tuple[str, str]:
    """'busybox' -> ('busybox', 'latest'); 'localhost:5000/a/b:1' -> ('localhost:5000/a/b', '1')."""
    parsed = parse_reference(ref)
    return parsed.familiar_name, parsed.tag


def normalize(ref: str) -> str:
    return parse_reference(ref).key
