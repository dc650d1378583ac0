"""Run a function in a forked child whose mount namespace changes stay its own (stopped-container
cp, filling a volume from a layered image): the result or the error comes back as JSON."""

from __future__ import annotations

import json
import os
import sys

from minicontainer.errors import DaemonError, MCError


def in_helper(fn):
    """Run fn in a forked child (its mount namespace changes must not touch this process); its
    result or its error comes back as JSON through a pipe."""
    r, w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            payload = {"result": fn()}
        except MCError as exc:
            payload = {"error": exc.args[0], "code": exc.exit_code, "daemon": isinstance(exc, DaemonError)}
        except OSError as exc:
            payload = {"error": describe(exc), "code": 1, "daemon": False}
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            payload = {"error": f"{type(exc).__name__}: {exc}", "code": 1, "daemon": False}
        try:
            sys.stdout.flush()
            os.write(w, json.dumps(payload).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    payload = json.loads(b"".join(chunks) or b'{"error": "the helper process died", "code": 1, "daemon": false}')
    if "error" in payload:
        cls = DaemonError if payload["daemon"] else MCError
        raise cls(payload["error"], payload["code"])
    return tuple(payload["result"])


def describe(exc: OSError) -> str:
    """An OSError as Go prints one: 'open /etc/x: permission denied'."""
    what = exc.strerror.lower() if exc.strerror else str(exc)
    return f"{exc.filename}: {what}" if exc.filename else what
