"""The supervisor's lean half (conmon's place): what waits beside a running container.

A detached supervisor is forked from the CLI and starts its container with the whole runtime
loaded (35 MB). Once the container runs it execs this module instead, which imports only what
waiting needs (about 11 MB), and serves from there what only it can hold:

    python -P -m minicontainer.runtime.monitor CONTAINER-ID FD

    FD        a memfd with the handover (Supervisor.watch writes it; marshal: the same interpreter
              reads it, and json would weigh 1.3 MB on every running container): the container's pid
              and stdio ends, the log, the attach and control listeners, the network/served.py
              services (proxies, held ports, DNS listeners), the restart delay so far
    serve     the services again, from threads of this process
    relay     output to the log and to attach clients, attach input to the container's stdin
    exit      then load the runtime, record the exit and tear down (Supervisor.resume); a
              restart starts the container again and execs this module again

The exec keeps the pid, so the container stays our child (waitpid) and the record's supervisor
identity (pid and start time) stays true.
"""

from __future__ import annotations

import marshal
import os
import socket
import sys

from minicontainer import faults
from minicontainer.network import served
from minicontainer.runtime.logs import LogWriter
from minicontainer.runtime.relay import Relay, Started


def relay_until_exit(started: Started, log: LogWriter, *, echo: bool = False, forward_stdin: bool = False,
                     attach=None, control=None, mount_ns: int | None = None) -> int:
    """Relay the container's stdio until its main process exits; its exit code (128+N for a signal,
    as a shell reports it). mount_ns (--pid host): when the main process ends, end the rest, as
    the end of a pid namespace would."""
    from minicontainer.kernel import proc
    on_exit, pidfd = None, None
    if mount_ns is not None:
        ns = mount_ns
        pidfd = os.pidfd_open(started.pid)
        on_exit = (pidfd, lambda: proc.kill_mount_namespace(ns))
    try:
        Relay(started, log, echo=echo, forward_stdin=forward_stdin, attach=attach, on_exit=on_exit).run()
    finally:
        log.close()
        _, status = os.waitpid(started.pid, 0)
        if pidfd is not None:  # the main process is gone: none of the others may stay
            proc.kill_mount_namespace(ns)
            os.close(pidfd)
        if control is not None:
            control.close()
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def exec_monitor(handover: dict) -> None:
    """Become the monitor (does not return): handover's descriptors are made inheritable here."""
    for fd in handover["keep"]:
        os.set_inheritable(fd, True)
    fd = os.memfd_create("minicontainer-handover", 0)  # inheritable (no MFD_CLOEXEC)
    os.write(fd, marshal.dumps(handover))
    os.lseek(fd, 0, os.SEEK_SET)
    os.chdir("/")
    os.execv(sys.executable, [sys.executable, "-P", "-m", "minicontainer.runtime.monitor", handover["cid"], str(fd)])


def control_actions(root: str | None, cid: str) -> dict:
    """What `network connect` may ask of the supervisor (network/control.py): serve or stop a proxy
    of a published port moved to another address, start the embedded DNS server."""

    def proxy(proto: str, host_ip: str, host_port: int, container_ip: str, container_port: int) -> dict:
        from minicontainer.kernel import proc
        from minicontainer.network.proxy import serve_here
        try:
            p = serve_here(proto, host_ip, host_port, container_ip, container_port)
        except OSError as exc:
            return {"bind": exc.strerror or str(exc)}
        me = os.getpid()
        return {"port": p.host_port, "pid": me, "start": proc.start_ticks(me)}

    def unproxy(key: list) -> dict:
        served.stop(tuple(key))
        return {}

    def dns() -> dict:
        from minicontainer.runtime.api import Runtime
        from minicontainer.runtime.supervisor import start_dns
        return start_dns(Runtime(root), cid)

    return {"proxy": proxy, "unproxy": unproxy, "dns": dns}


def _teardown_taken(directory: str) -> bool:
    """Whether a live `rm -f` takes the teardown (ContainerRecord.removing): it has the runtime
    loaded, we would import it (~100 ms of CPU) for that alone; 250 of us would spend 25 s."""
    import json

    from minicontainer.kernel import proc
    try:
        with open(os.path.join(directory, "container.json")) as f:
            removing = json.load(f).get("removing")
    except (OSError, ValueError):
        return False
    return bool(removing) and proc.is_alive(removing["pid"], removing["start"])


def main(argv: list[str]) -> None:
    cid, fd = argv[0], int(argv[1])
    with os.fdopen(fd, "rb") as f:
        handover = marshal.load(f)
    for kept in handover["keep"]:
        os.set_inheritable(kept, False)  # no child of ours (a command a teardown runs) gets them
    faults.carry_on(*handover["faults"])
    directory = handover["dir"]
    served.supervise(directory)
    served.adopt(handover["served"])
    s = handover["started"]
    started = Started(s["pid"], s["master"], {int(k): v for k, v in s["outputs"].items()}, s["stdin"])
    attach = control = None
    if handover["attach"]:
        from minicontainer.runtime.attach import AttachPoint
        a = handover["attach"]
        attach = AttachPoint(directory, a["stdin_once"], a["replay"], listener=socket.socket(fileno=a["fd"]))
    if handover["control"] is not None:
        from minicontainer.network.control import ControlPoint
        control = ControlPoint(directory, control_actions(handover["root"], cid),
                               listener=socket.socket(fileno=handover["control"]))
    code = relay_until_exit(started, LogWriter(handover["log"]), attach=attach, control=control,
                            mount_ns=handover["mount_ns"])
    if _teardown_taken(directory):
        os._exit(0)
    try:
        from minicontainer.runtime.supervisor import resume
        resume(handover["root"], cid, code, handover["delay"])
    finally:
        os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
