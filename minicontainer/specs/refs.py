"""Image references: NAME[:TAG] with Docker's defaults and messages."""

from __future__ import annotations

import re

from minicontainer.errors import MCError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
_NAME_RE = re.compile(rf"^{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


def parse_image_ref(ref: str) -> tuple[str, str]:
    """'busybox' -> ('busybox', 'latest'); 'localhost:5000/a/b:1' -> ('localhost:5000/a/b', '1')."""
    name, tag = ref, "latest"
    colon = ref.rfind(":")
    if colon > ref.rfind("/"):
        name, tag = ref[:colon], ref[colon + 1:]
    if not _NAME_RE.match(name) or not _TAG_RE.match(tag):
        if name.lower() != name and _NAME_RE.match(name.lower()):
            raise MCError(f"invalid reference format: repository name ({name}) must be lowercase", 125)
        raise MCError("invalid reference format", 125)
    return name, tag


def normalize(ref: str) -> str:
    name, tag = parse_image_ref(ref)
    return f"{name}:{tag}"
