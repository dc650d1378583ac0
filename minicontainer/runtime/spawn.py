"""Start a process inside namespaces: a new container (run/start) or an existing one (exec).

The sequence for a new container (the order matters and is what `unshare`, runc and Docker do):
  supervisor: unshare(CLONE_NEWPID) -> fork -> setns back to its own pid namespace
  child (pid 1 of the new pid namespace):
      setsid; unshare(mnt, uts, ipc[, net]); wait for "go" (host-side setup such as networking
      needs the child's pid first); apply the mount plan; pivot_root; hostname; wire stdio
      (a pty from the container's own devpts, or pipes); close every other fd; execve.
The child reports a failure before execve through a close-on-exec pipe: EOF means execve worked.
"""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import socket
import stat
import struct
import termios
from dataclasses import dataclass, field

from minicontainer import trace
from minicontainer.errors import MCError, StartError
from minicontainer.kernel import namespaces as ns
from minicontainer.kernel import syscalls as sc
from minicontainer.kernel.cgroups import enter_self
from minicontainer.kernel.helper import collect, report
from minicontainer.plan import Plan
from minicontainer.runtime.confinement import ProcessSecurity
from minicontainer.runtime.relay import Started
from minicontainer.runtime.users import UnknownUser, resolve  # imported here: the child runs it after pivot_root
from minicontainer.specs.ulimits import rlimits  # so is this

TIOCGPTPEER = 0x5441
TIOCSPTLCK = 0x40045431
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT,
                  signal.SIGHUP, signal.SIGCHLD, signal.SIGWINCH, signal.SIGUSR1, signal.SIGUSR2)


@dataclass
class Launch:
    """What the container process runs and how its stdio is wired."""

    argv: list[str]
    env: list[str]
    cwd: str = "/"
    user: str = ""                # Config.User or exec -u: "name|uid[:group|gid]", "" = root
    tty: bool = False
    stdin: bool = False           # -i: keep stdin open and forward it
    winsize: bytes | None = None  # struct winsize to give the pty
    security: ProcessSecurity | None = None  # capabilities, no_new_privs, seccomp (runtime/confinement.py)
    ulimits: list[dict] = field(default_factory=list)  # --ulimit: HostConfig.Ulimits' {"Name", "Soft", "Hard"}


class _ExecError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- child side (after fork)

def _resolve_executable(argv0: str, env: list[str]) -> str:
    """Find argv0 the way runc does: a path as given, else the first match in the container's PATH."""
    if "/" in argv0:
        try:
            st = os.stat(argv0)
        except FileNotFoundError:
            raise _ExecError(127, f'exec: "{argv0}": stat {argv0}: no such file or directory') from None
        if stat.S_ISDIR(st.st_mode):
            raise _ExecError(126, f'exec: "{argv0}": is a directory')
        return argv0
    path = next((e[5:] for e in env if e.startswith("PATH=")), DEFAULT_PATH)
    for d in path.split(":"):
        cand = os.path.join(d or ".", argv0)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise _ExecError(127, f'exec: "{argv0}": executable file not found in $PATH')


def _wire_tty(sock: socket.socket, winsize: bytes | None) -> None:
    """Open a pty in the container's devpts, hand the master to the supervisor, make the slave our tty."""
    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    if winsize:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, winsize)
    socket.send_fds(sock, [b"m"], [master])
    os.close(master)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    os.close(slave)


def _exec(launch: Launch, stdio: dict[int, int], sock: socket.socket | None, errw: int) -> None:
    if launch.tty:
        _wire_tty(sock, launch.winsize)
    else:
        for target, fd in stdio.items():
            os.dup2(fd, target)
    env = dict(e.split("=", 1) if "=" in e else (e, "") for e in launch.env)
    _set_rlimits(launch.ulimits)  # while still root: raising a hard limit needs CAP_SYS_RESOURCE
    security = launch.security
    if security is not None:
        security.before_user_switch()
    uid = _switch_user(launch.user, env)
    if security is not None:
        security.after_user_switch(uid)
    path = _resolve_executable(launch.argv[0], [f"{k}={v}" for k, v in env.items()])
    try:
        os.chdir(launch.cwd or "/")
    except FileNotFoundError:
        os.makedirs(launch.cwd, 0o755, exist_ok=True)  # Docker creates a missing WorkingDir
        os.chdir(launch.cwd)
    for sig in _RESET_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)  # Python ignores SIGPIPE; the container must not inherit that
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    # Close every inherited descriptor but the error pipe (close-on-exec): the runc CVE-2024-21626 lesson.
    os.closerange(3, errw)
    os.closerange(errw + 1, 1 << 16)
    try:
        os.execve(path, launch.argv, env)
    except PermissionError:
        raise _ExecError(126, f'exec: "{launch.argv[0]}": permission denied') from None
    except FileNotFoundError:
        raise _ExecError(127, f'exec: "{launch.argv[0]}": no such file or directory') from None
    except OSError as exc:
        raise _ExecError(126, f'exec: "{launch.argv[0]}": {exc.strerror.lower()}') from None


def _set_rlimits(ulimits: list[dict]) -> None:
    for res, soft, hard in rlimits(ulimits):
        try:
            resource.setrlimit(res, (soft, hard))
        except (OSError, ValueError) as exc:
            raise _ExecError(125, f"error setting rlimit type {res}: {exc}") from None


def _switch_user(spec: str, env: dict[str, str]) -> int:
    """Become the container's user (groups, then gid, then uid: each step needs the privilege the next
    one drops) and return its uid. HOME comes from its passwd entry unless the environment sets it,
    as Docker does."""
    texts = []
    for path in ("/etc/passwd", "/etc/group"):
        try:
            with open(path, errors="replace") as f:
                texts.append(f.read())
        except OSError:
            texts.append("")
    try:
        user = resolve(spec, *texts)
    except UnknownUser as exc:
        raise _ExecError(125, str(exc)) from None
    env.setdefault("HOME", user.home or "/")
    if (user.uid, user.gid) == (0, 0) and not user.groups and not spec:
        return 0
    os.setgroups(user.groups)
    os.setgid(user.gid)
    os.setuid(user.uid)
    return user.uid


def _child_fail(errw: int, code: int, message: str) -> None:
    try:
        report(errw, MCError(message, code))
    finally:
        os._exit(code)


# ---------------------------------------------------------------- supervisor side

class _Channels:
    """Pipes and sockets between the supervisor and the child, closed on the right side after fork."""

    def __init__(self, launch: Launch):
        self.errr, self.errw = os.pipe2(os.O_CLOEXEC)
        self.gor, self.gow = os.pipe2(os.O_CLOEXEC)        # supervisor -> child: host side is ready, go on
        self.nsr, self.nsw = os.pipe2(os.O_CLOEXEC)        # child -> supervisor: my namespaces exist
        self.parent_sock = self.child_sock = None
        self.child_stdio: dict[int, int] = {}
        self.outputs: dict[int, str] = {}
        self.stdin_w: int | None = None
        if launch.tty:
            self.parent_sock, self.child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            return
        if launch.stdin:
            r, self.stdin_w = os.pipe2(os.O_CLOEXEC)
        else:
            r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        self.child_stdio[0] = r
        for target, stream in ((1, "stdout"), (2, "stderr")):
            r, w = os.pipe2(os.O_CLOEXEC)
            self.outputs[r] = stream
            self.child_stdio[target] = w

    def parent_side(self) -> None:
        for fd in (self.errw, self.gor, self.nsw, *self.child_stdio.values()):
            os.close(fd)
        if self.child_sock:
            self.child_sock.close()

    def child_side(self) -> None:
        for fd in (self.errr, self.gow, self.nsr, *self.outputs):
            os.close(fd)
        if self.stdin_w is not None:
            os.close(self.stdin_w)
        if self.parent_sock:
            self.parent_sock.close()

    def finish(self, pid: int, ready) -> Started:
        """Parent: run ready(pid) (host-side setup), let the child go, collect its exec result."""
        try:
            # Wait until the child has its own namespaces: a veth peer created "in pid's netns" before
            # that would land in the host's namespace.
            if os.read(self.nsr, 1) == b"n" and ready:
                ready(pid)
            os.write(self.gow, b"g")
        except BrokenPipeError:
            pass  # the child died before "go": its error report follows on errr
        finally:
            os.close(self.gow)
            os.close(self.nsr)
        master = None
        if self.parent_sock:
            _msg, fds, _flags, _addr = socket.recv_fds(self.parent_sock, 1, 1)
            self.parent_sock.close()
            master = fds[0] if fds else None
        err = collect(self.errr)
        if err is not None:
            os.waitpid(pid, 0)
            for fd in (*self.outputs, self.stdin_w, master):
                if fd is not None:
                    os.close(fd)
            raise StartError(f"failed to create task for container: unable to start container process: "
                             f"{err.args[0]}: unknown", err.exit_code)
        return Started(pid=pid, master=master, outputs=self.outputs, stdin=self.stdin_w)


def _run_child(ch: _Channels, launch: Launch, before_exec=None) -> None:
    """Everything the child does after fork; never returns."""
    try:
        if before_exec:
            ch.child_side()
            before_exec(ch.gor)
        else:
            os.setsid()  # exec's inner child: its own session, so its tty can become the controlling one
        _exec(launch, ch.child_stdio, ch.child_sock, ch.errw)
    except _ExecError as exc:
        _child_fail(ch.errw, exc.code, str(exc))
    except BaseException as exc:  # a failed mount, a missing workdir parent, ...
        _child_fail(ch.errw, 125, f"{type(exc).__name__}: {exc}")


def spawn_container(kinds: list[str], plan: Plan, launch: Launch, ready=None, join: dict[str, int] | None = None,
                    new_pid: bool = True) -> Started:
    """Start a new container: new namespaces of `kinds` plus (new_pid) a new pid namespace, then `plan`,
    then exec. join maps a namespace kind to an open /proc/<pid>/ns/<kind> fd the child enters
    instead (container:ID)."""
    join = join or {}
    ch = _Channels(launch)

    def before_exec(gor: int) -> None:
        # If the supervisor dies, the container dies with it (and the next command reaps the state).
        # Had it died before this prctl, the read of "go" below sees EOF and we exit.
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        os.setsid()
        for kind, fd in join.items():
            sc.setns(fd, ns.KINDS[kind][0])
        ns.Unshare(kinds).do()
        os.write(ch.nsw, b"n")
        os.close(ch.nsw)
        if os.read(gor, 1) != b"g":
            os._exit(1)  # the supervisor gave up
        os.close(gor)
        trace.set_phase("container")
        plan.apply()

    own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if new_pid:
            sc.unshare(sc.CLONE_NEWPID)
        pid = os.fork()
        if pid == 0:
            _run_child(ch, launch, before_exec)
        # Only our next child was meant to enter the new pid namespace: point pid_for_children back.
        if new_pid:
            sc.setns(own_pidns, sc.CLONE_NEWPID)
    finally:
        os.close(own_pidns)
    ch.parent_side()
    return ch.finish(pid, ready)


def spawn_exec(target_pid: int, kinds: list[str], launch: Launch, cgroup_files: list[str] = ()) -> Started:
    """Start a process inside a running container: join its cgroup (cgroup_files: where it writes
    "0", runtime/cgroup.py), its namespaces and root, then exec.

    setns(CLONE_NEWPID) only applies to children, so the joining child forks once more and waits
    for that grandchild, passing on its exit status.
    """
    fds = ns.open_namespaces(target_pid, kinds)
    root = os.open(f"/proc/{target_pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    ch = _Channels(launch)
    pid = os.fork()
    if pid == 0:
        try:
            ch.child_side()
            os.setsid()
            enter_self(cgroup_files)  # host paths: before setns and chroot
            for kind in kinds:
                sc.setns(fds[kind], ns.KINDS[kind][0])
            os.fchdir(root)
            os.chroot(".")
            os.write(ch.nsw, b"n")
            os.close(ch.nsw)
            if os.read(ch.gor, 1) != b"g":
                os._exit(1)
            inner = os.fork()
            if inner == 0:
                _run_child(ch, launch)
            os.close(ch.errw)
            for fd in ch.child_stdio.values():
                os.close(fd)
            if ch.child_sock:
                ch.child_sock.close()
            _, status = os.waitpid(inner, 0)
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
        except BaseException as exc:
            _child_fail(ch.errw, 126, f"{type(exc).__name__}: {exc}")
    for fd in (*fds.values(), root):
        os.close(fd)
    ch.parent_side()
    return ch.finish(pid, None)
