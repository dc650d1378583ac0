"""exec create, start, resize, inspect. An exec is created in one request and started in another
(each on a connection process of its own), so what it is lives on disk: a JSON record in the
container's directory (<container>/execs/<id>.json), which goes when the container goes, as
Docker's exec records do. The exit code is written before the stream closes: the CLI asks for it
as soon as its stream ends (docker-api.md §1.8)."""

from __future__ import annotations

import json
import os
import struct

from minicontainer.engine.errors import ApiError
from minicontainer.engine.routes import route
from minicontainer.engine.streams import MULTIPLEXED, RAW, set_winsize


def _dir(rt, cid: str) -> str:
    return os.path.join(rt.containers.dir(cid), "execs")


def _save(rt, record: dict) -> None:
    directory = _dir(rt, record["ContainerID"])
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = os.path.join(directory, f".{record['ID']}.{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(record, f)
    os.rename(tmp, os.path.join(directory, record["ID"] + ".json"))


def _load(rt, exec_id: str) -> dict:
    for cid in rt.containers.ids():
        try:
            with open(os.path.join(_dir(rt, cid), exec_id + ".json")) as f:
                return json.load(f)
        except FileNotFoundError:
            continue
    raise ApiError(404, f"No such exec instance: {exec_id}")


@route("POST", "/containers/{ref}/exec")
def create(rt, req, resp, ref: str) -> None:
    body = req.json()
    rec = rt.get(ref)
    if not rec.running:
        raise ApiError(409, f"container {rec.id} is not running")
    if rec.paused:
        raise ApiError(409, f"Container {rec.id} is paused, unpause the container before exec")
    cmd = body.get("Cmd") or []
    if isinstance(cmd, str):
        cmd = [cmd]
    if not cmd:
        raise ApiError(400, "No exec command specified")
    from minicontainer.specs.process import check_workdir
    check_workdir(body.get("WorkingDir") or "", exit_code=1)
    record = {"ID": os.urandom(32).hex(), "ContainerID": rec.id, "Running": False, "ExitCode": None, "Pid": 0,
              "OpenStdin": bool(body.get("AttachStdin")), "OpenStdout": bool(body.get("AttachStdout")),
              "OpenStderr": bool(body.get("AttachStderr")), "CanRemove": False, "DetachKeys": body.get("DetachKeys", ""),
              "ProcessConfig": {"tty": bool(body.get("Tty")), "entrypoint": cmd[0], "arguments": cmd[1:],
                                "privileged": bool(body.get("Privileged")), "user": body.get("User") or ""},
              "Env": [e for e in body.get("Env") or [] if "=" in e], "WorkingDir": body.get("WorkingDir") or "",
              "ConsoleSize": body.get("ConsoleSize")}
    _save(rt, record)
    resp.json(201, {"Id": record["ID"]})


@route("GET", "/exec/{exec_id}/json")
def inspect(rt, req, resp, exec_id: str) -> None:
    record = _load(rt, exec_id)
    resp.json(200, {k: v for k, v in record.items() if k not in ("Env", "WorkingDir", "ConsoleSize")})


@route("POST", "/exec/{exec_id}/resize")
def resize(rt, req, resp, exec_id: str) -> None:
    record = _load(rt, exec_id)
    if not record["Running"] or not record["Pid"]:
        raise ApiError(409, f"exec {exec_id} is not running")
    if record["ProcessConfig"]["tty"]:
        set_winsize(record["Pid"], req.number("h", 0) or 0, req.number("w", 0) or 0)
    resp.send(200, b"", "text/plain; charset=utf-8")


@route("POST", "/exec/{exec_id}/start")
def start(rt, req, resp, exec_id: str) -> None:
    record = _load(rt, exec_id)
    body = req.json()
    if record["Running"] or record["ExitCode"] is not None:
        raise ApiError(409, f"Exec {exec_id} has already run")  # moby: one start per exec
    tty = bool(body.get("Tty", record["ProcessConfig"]["tty"]))
    size = body.get("ConsoleSize") or record.get("ConsoleSize")
    winsize = struct.pack("HHHH", size[0], size[1], 0, 0) if size and size[0] and size[1] else None
    if body.get("Detach"):
        _start_detached(rt, record, tty, winsize)
        resp.send(200, b"", "application/json")
        return
    conn = resp.hijack(RAW if tty else MULTIPLEXED)
    from minicontainer.engine.http import frame
    if record["OpenStdin"]:  # the connection is the process's stdin; what came with the request first
        os.dup2(conn.sock.fileno(), 0)
    wanted = {"stdout": record["OpenStdout"], "stderr": record["OpenStderr"]}

    def sink(stream: str, data: bytes) -> None:
        if wanted.get(stream, True):
            conn.send(data if tty else frame(1 if stream == "stdout" else 2, data))
    _run(rt, record, tty, winsize, sink)


def _run(rt, record: dict, tty: bool, winsize, sink) -> int:
    """Run the exec; the record says Running with its pid while it does, then its exit code."""
    from minicontainer.errors import MCError
    proc = record["ProcessConfig"]

    def started(pid: int) -> None:
        record["Running"], record["Pid"] = True, pid
        _save(rt, record)
    try:
        code = rt.exec(record["ContainerID"], [proc["entrypoint"], *proc["arguments"]],
                       interactive=record["OpenStdin"], tty=tty, workdir=record["WorkingDir"], env=record["Env"],
                       user=proc["user"], sink=sink, privileged=proc["privileged"], winsize=winsize, on_start=started)
    except MCError as exc:  # it could not start (no such file: 127): the message on the stream, as moby writes it
        code = exc.exit_code if exc.exit_code in (126, 127) else 126
        sink("stdout", f"OCI runtime exec failed: {exc.args[0]}\r\n".encode())
    record["Running"], record["ExitCode"] = False, code
    _save(rt, record)
    return code


def _start_detached(rt, record: dict, tty: bool, winsize) -> None:
    """exec -d: the process runs on without us, detached as a supervisor is (runtime/supervisor.py)."""
    from minicontainer.runtime.supervisor import fork_detached
    r, w = os.pipe2(os.O_CLOEXEC)
    if fork_detached(r, w):
        os.read(r, 1)  # it runs: the reply may go
        os.close(r)
        return
    try:
        os.write(w, b"k")
        os.close(w)
        _run(rt, record, tty, winsize, lambda stream, data: None)
    finally:
        os._exit(0)
