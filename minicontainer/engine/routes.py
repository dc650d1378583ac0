"""Method + path -> handler. Every route answers with or without a /vX.Y prefix (moby and Podman
register both); an unknown path is a JSON 404, as moby's."""

from __future__ import annotations

import importlib
import re

_ROUTES: list[tuple[str, re.Pattern, object]] = []
_MODULES = ("system", "containers", "streams", "stats", "archive", "execs", "images", "networks", "volumes")
_loaded = False


def route(method: str, pattern: str):
    """Register a handler(rt, req, resp, **params) for method and a path pattern: {name} matches one
    path segment, {name*} the rest of the path (image names have slashes)."""
    regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.+)", pattern)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)

    def register(handler):
        _ROUTES.append((method, re.compile(f"^{regex}$"), handler))
        return handler
    return register


def find(method: str, path: str):
    """(handler, params), or (None, allowed) where allowed says whether the path exists for another method."""
    global _loaded
    if not _loaded:
        for name in _MODULES:
            importlib.import_module(f"minicontainer.engine.{name}")
        _loaded = True
    other, fallback = False, None
    for m, regex, handler in _ROUTES:
        match = regex.match(path)
        if not match:
            continue
        if m == "*":  # the catch-all of unknown paths: only if nothing more specific matches
            fallback = fallback or (handler, match.groupdict())
        elif m == method or (method == "HEAD" and m == "GET"):
            return handler, match.groupdict()
        else:
            other = True
    if fallback is not None and not other:
        return fallback
    return None, other
