"""The event journal: what happened to containers (create, start, pause, unpause, rename, die,
destroy), one JSON line each in <run>/events.jsonl, in Docker's event shape. GET /events and
`minicontainer events` read it; there is no daemon to keep events in memory, so they are kept
here, as long as the run directory lasts (a tmpfs: until the next boot). Each event is one O_APPEND write, whole even with writers at once;
past MAX bytes the file is renamed to events.jsonl.1 and a new one begun (followers reopen)."""

from __future__ import annotations

import json
import os
import time

from minicontainer.store.jsonlines import JsonLines

NAME = "events.jsonl"
MAX = 1 << 20


def path_in(run_dir: str) -> str:
    return os.path.join(run_dir, NAME)


def record(run_dir: str, kind: str, action: str, actor: str, attributes: dict | None = None) -> None:
    """Append one event; never fails the operation it reports (a full disk loses the event only)."""
    ns = time.time_ns()
    event = {"Type": kind, "Action": action, "Actor": {"ID": actor, "Attributes": attributes or {}},
             "scope": "local", "time": ns // 1_000_000_000, "timeNano": ns}
    if kind == "container":  # the fields of the API before 1.22, which the docker CLI still prints from
        event.update(status=action, id=actor, **({"from": attributes["image"]} if attributes and "image" in attributes else {}))
    path = path_in(run_dir)
    try:
        if os.path.getsize(path) > MAX:
            os.replace(path, path + ".1")
    except FileNotFoundError:
        pass
    except OSError:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.write(fd, json.dumps(event, separators=(",", ":")).encode() + b"\n")
    except OSError:
        pass
    finally:
        os.close(fd)


class Follower:
    """The journal's events as they are appended (after a rotation, from the new file's start)."""

    def __init__(self, run_dir: str, since_ns: int | None):
        """since_ns: also the events from then on that are already there (None: only new ones)."""
        self.path = path_in(run_dir)
        self.since = since_ns
        self.lines = self._open(from_end=since_ns is None)

    def _open(self, from_end: bool) -> JsonLines | None:
        try:
            return JsonLines.open(self.path, from_end)
        except FileNotFoundError:
            return None

    def _rotated(self) -> bool:
        try:
            return self.lines is None or os.stat(self.path).st_ino != self.lines.inode()
        except FileNotFoundError:
            return False

    def read(self) -> list[dict]:
        events = self.lines.read() if self.lines is not None else []
        if self._rotated():
            self.close()
            self.lines = self._open(from_end=False)
            events += self.lines.read() if self.lines is not None else []
        return [e for e in events if e["timeNano"] >= self.since] if self.since is not None else events

    def close(self) -> None:
        if self.lines is not None:
            self.lines.close()
            self.lines = None


def stream(run_dir: str, since: float | None, until: float | None, wanted: dict[str, list[str]], pause):
    """The events that match wanted: those from since (unix seconds; None: only new ones), then as
    they come, until `until` has passed or pause() (which waits a moment) says the reader is gone."""
    start = int(since * 1e9) if since is not None else (0 if until is not None else None)
    follower = Follower(run_dir, start)
    try:
        while True:
            for event in follower.read():
                if until is not None and event["timeNano"] > until * 1e9:
                    return
                if matches(event, wanted):
                    yield event
            if until is not None and time.time() > until:
                return
            if not pause():
                return
    finally:
        follower.close()


def matches(event: dict, wanted: dict[str, list[str]]) -> bool:
    """Docker's event filters: type, event, container (id prefix or name), image, label (k or k=v);
    values of one key are alternatives, keys must all hold."""
    attrs = event["Actor"]["Attributes"]
    checks = {
        "type": lambda v: event["Type"] == v,
        "event": lambda v: event["Action"] == v,
        "container": lambda v: event["Type"] == "container" and (event["Actor"]["ID"].startswith(v) or attrs.get("name") == v),
        "image": lambda v: attrs.get("image") == v,
        "label": lambda v: (attrs.get(v.partition("=")[0]) == v.partition("=")[2]) if "=" in v else v in attrs,
    }
    return all(any(checks[key](v) for v in values) for key, values in wanted.items() if key in checks)


def line(event: dict) -> str:
    """How the docker CLI prints an event: its time, type, action, actor and sorted attributes."""
    import datetime
    ns = event["timeNano"]
    when = datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    attrs = ", ".join(f"{k}={v}" for k, v in sorted(event["Actor"]["Attributes"].items()))
    return f"{when}.{ns % 1_000_000_000:09d}Z {event['Type']} {event['Action']} {event['Actor']['ID']}" + \
        (f" ({attrs})" if attrs else "")
