"""Forked children and the one way they report an error to their parent.

Three kinds of child report back before they exec or exit: the container's pid 1 (spawn), the
detached supervisor (until the container runs) and a helper whose mount namespace changes must
stay its own (stopped-container cp, filling a volume from a layered image). Each writes at most one
JSON object into a close-on-exec pipe with report(); the parent reads it with collect(): EOF with
nothing written means success (for spawn, that execve worked).
"""

from __future__ import annotations

import json
import os
import sys

from minicontainer.errors import DaemonError, MCError, StartError

_KINDS = {"MCError": MCError, "DaemonError": DaemonError, "StartError": StartError}


def describe(exc: OSError) -> str:
    """An OSError as Go prints one: 'open /etc/x: permission denied'."""
    what = exc.strerror.lower() if exc.strerror else str(exc)
    return f"{exc.filename}: {what}" if exc.filename else what


def encode(exc: BaseException, default_code: int = 1) -> dict:
    """An exception as the report's JSON object: message, exit code, and the MCError class to raise."""
    if isinstance(exc, MCError):
        kind = next(k for k in ("StartError", "DaemonError", "MCError") if isinstance(exc, _KINDS[k]))
        return {"message": exc.args[0], "code": exc.exit_code, "kind": kind}
    if isinstance(exc, OSError):
        return {"message": describe(exc), "code": default_code, "kind": "MCError"}
    return {"message": f"{type(exc).__name__}: {exc}", "code": default_code, "kind": "MCError"}


def report(fd: int, exc: BaseException, default_code: int = 1) -> None:
    """Child: write exc to the parent (one write, so the parent never reads half of it)."""
    os.write(fd, json.dumps(encode(exc, default_code)).encode())


def _read_all(fd: int) -> bytes:
    """Everything the child writes until it closes its end (or exits); fd is closed."""
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _decode(payload: dict) -> MCError | None:
    """The error a report carries, None for a report without one ({} or a helper's result)."""
    if "message" not in payload:
        return None
    return _KINDS.get(payload.get("kind", ""), MCError)(payload["message"], payload["code"])


def collect(fd: int, if_silent: str | None = None) -> MCError | None:
    """Parent: read the child's report until EOF and close fd. Returns the error it reported, None
    if it wrote nothing or {}; with if_silent, a child that wrote nothing counts as this error (one
    that had to report success and died instead)."""
    data = _read_all(fd)
    if not data:
        return None if if_silent is None else MCError(if_silent, 125)
    return _decode(json.loads(data))


def in_helper(fn):
    """Run fn in a forked child (its mount namespace changes must not touch this process); its
    result (a JSON value) or its error comes back through a pipe."""
    r, w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            try:
                payload = json.dumps({"result": fn()}).encode()
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
                payload = json.dumps(encode(exc)).encode()
            sys.stdout.flush()
            os.write(w, payload)
        finally:
            os._exit(0)
    os.close(w)
    data = _read_all(r)
    os.waitpid(pid, 0)
    payload = json.loads(data or b'{"message": "the helper process died", "code": 1}')
    error = _decode(payload)
    if error is not None:
        raise error
    return payload["result"]
