"""kill -9 at every step: of `run -d -p -v` (the command, then its supervisor), of `rm -f -v` (the
command, which tears a running container down itself) and of a supervisor tearing down; and of a
supervisor whose proxy relays a connection. After each crash the next command must leave the
host as it was, apart from the containers that still exist, and those must all be in `ps -a`.

The steps are not guessed: a clean run with MINICONTAINER_CHECKPOINTS lists them, then each one
is crashed in turn (minicontainer/faults.py)."""

import contextlib
import json
import os
import random
import time

import pytest

from minicontainer import residue
from minicontainer.network.backends import BACKENDS
from tests.integration.nethelp import HTTPD, curl

RUN_ARGS = ["-v", "crashvol:/data", "-v", "/cache", "busybox", "sh", "-c", HTTPD.format(name="crash")]


@contextlib.contextmanager
def _env(mc, **variables):
    """The mc runner with extra environment variables, for the commands inside the block."""
    saved = dict(mc.env)
    mc.env.update(variables)
    try:
        yield mc
    finally:
        mc.env.clear()
        mc.env.update(saved)


def _steps(mc, role: str, *commands: tuple) -> list[str]:
    """The checkpoints `role` passes while the commands run (a supervisor counts on from its start
    through its teardown, in one list)."""
    log = os.path.join(mc.root, "..", "checkpoints.log")
    with _env(mc, MINICONTAINER_CHECKPOINTS=log):
        for args in commands:
            mc(*args, check=True)
    lines = []
    for _ in range(50):  # a detached supervisor writes its teardown steps a moment after rm returns
        with open(log) as f:
            lines = [line.split(" ", 2) for line in f.read().splitlines()]
        if role != "supervisor" or any(label == "host side released" for _, _, label in lines):
            break
        time.sleep(0.1)
    os.unlink(log)
    return [label for who, _, label in lines if who == role]


def _crashing(mc, where: str, *args: str):
    with _env(mc, MINICONTAINER_CRASH_AT=where):
        return mc(*args)


def _snapshot(mc):
    return residue.snapshot([mc.root], marker="PYTEST_CURRENT_TEST")


def _kernel_only(snap):
    return {k: v for k, v in snap.items() if k != "state"}


def _check_recovered(mc, before, label: str) -> None:
    """The next command recovers; what is left is only containers that exist, each in ps -a."""
    listed = set(mc.ok("ps", "-aq", "--no-trunc").split())
    containers = os.path.join(mc.root, "containers")
    on_disk = {d for d in os.listdir(containers) if not d.endswith(".lock")}
    assert on_disk == listed, f"after a crash at {label!r}: on disk {on_disk}, in ps -a {listed}"
    names = os.path.join(mc.root, "names")
    for name in os.listdir(names):
        if not name.startswith("."):
            assert os.readlink(os.path.join(names, name)) in listed, f"{label!r}: name {name} of a lost container"
    running = mc.ok("ps", "-q")
    if not running:  # nothing runs: the kernel must be exactly as before
        diff = residue.settled_difference(_kernel_only(before), lambda: _kernel_only(_snapshot(mc)))
        assert not diff, f"after a crash at {label!r}, the next command left:\n" + "\n".join(diff)
    ids = mc.ok("ps", "-aq").split()
    if ids:
        mc("rm", "-f", "-v", *ids, check=True)
    diff = residue.settled_difference(before, lambda: _snapshot(mc))
    assert not diff, f"after a crash at {label!r} and rm -f -v:\n" + "\n".join(diff)


def _serves(mc, port: int) -> None:
    """The same name, port and volume work again: nothing of the crashed run holds them."""
    mc("run", "-d", "--name", "crashweb", "-p", f"{port}:80", *RUN_ARGS, check=True)
    assert curl(f"http://127.0.0.1:{port}/") == "hello-crash\n"
    mc("rm", "-f", "-v", "crashweb", check=True)


@pytest.fixture
def crash_env(mc):
    mc.ok("volume", "create", "crashvol")
    mc.ok("run", "--rm", "busybox", "true")  # the bridge and its chains exist from here on
    yield mc
    mc("volume", "rm", "-f", "crashvol")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("role", ["command", "supervisor"])
def test_kill_9_at_every_step_of_run(crash_env, role):
    mc = crash_env
    port = random.randrange(20000, 60000)
    run = ("run", "-d", "--name", "crashweb", "-p", f"{port}:80", *RUN_ARGS)
    steps = _steps(mc, role, run)
    mc("rm", "-f", "-v", "crashweb", check=True)
    assert len(steps) >= (4 if role == "command" else 15), steps
    before = _snapshot(mc)
    for n, label in enumerate(steps, 1):
        proc = _crashing(mc, f"{role}:{n}", *run)
        assert proc.returncode != 0, (label, proc.stdout, proc.stderr)
        _check_recovered(mc, before, label)
    _serves(mc, port)


def test_kill_9_at_every_step_of_a_supervisor_on_a_user_defined_network(crash_env):
    """Its start has the embedded DNS server too (listeners, the nat rules in its namespace): a
    crash anywhere leaves nothing, and the next container of that name resolves by name."""
    mc = crash_env
    mc.ok("network", "create", "--subnet", f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}.0/24", "crashnet")
    port = random.randrange(20000, 60000)
    run = ("run", "-d", "--name", "crashweb", "--network", "crashnet", "-p", f"{port}:80", *RUN_ARGS)
    steps = _steps(mc, "supervisor", run)
    mc("rm", "-f", "-v", "crashweb", check=True)
    assert any("EmbeddedDNS" in label for label in steps), steps
    before = _snapshot(mc)
    for n, label in enumerate(steps, 1):
        proc = _crashing(mc, f"supervisor:{n}", *run)
        assert proc.returncode != 0, (label, proc.stdout, proc.stderr)
        _check_recovered(mc, before, label)
    mc(*run, check=True)
    mc("run", "-d", "--name", "asker", "--network", "crashnet", "busybox", "sleep", "60", check=True)
    assert mc("exec", "asker", "wget", "-qO-", "http://crashweb/").stdout == "hello-crash\n"
    mc("rm", "-f", "-v", "crashweb", "asker", check=True)
    mc("network", "rm", "crashnet", check=True)


@pytest.mark.parametrize("role", ["command", "supervisor"])
def test_kill_9_at_every_step_of_rm(crash_env, role):
    """rm -f tears a running container down itself (the command role); a container that exits on
    its own (here by `stop`) is torn down by its supervisor (the supervisor role)."""
    mc = crash_env
    port = random.randrange(20000, 60000)
    run = ("run", "-d", "--name", "crashweb", "-p", f"{port}:80", *RUN_ARGS)
    rm = ("rm", "-f", "-v", "crashweb")
    end = rm if role == "command" else ("stop", "-t", "0", "crashweb")
    started = len(_steps(mc, "supervisor", run))
    mc(*rm, check=True)
    # the supervisor's checkpoints count on from its start: its teardown steps come after those
    steps = _steps(mc, role, run, end)[0 if role == "command" else started:]
    mc(*rm, check=True)
    assert len(steps) >= 4, steps
    assert role == "supervisor" or "host side released" not in steps  # rm's own reaper, not a second teardown
    before = _snapshot(mc)
    for n, label in enumerate(steps, 1):
        if role == "command":
            mc(*run, check=True)
            assert curl(f"http://127.0.0.1:{port}/") == "hello-crash\n"
            _crashing(mc, f"command:{n}", *rm)
        else:
            _crashing(mc, f"supervisor:{started + n}", *run)
            assert curl(f"http://127.0.0.1:{port}/") == "hello-crash\n"
            mc(*end)
            mc(*rm)
        _check_recovered(mc, before, label)
    _serves(mc, port)


def _same_processes(snap):
    """The kernel-side snapshot with processes by command line: a proxy moved between networks and
    back is a new process serving the same port."""
    out = _kernel_only(snap)
    out["processes"] = type(out["processes"])(line.split(" ", 1)[1] for line in out["processes"].elements())
    return out


def _networks_of(mc, name) -> set[str]:
    import json
    return set(json.loads(mc.ok("inspect", name))[0]["NetworkSettings"]["Networks"])


@pytest.mark.parametrize("op", ["connect", "disconnect"])
def test_kill_9_at_every_step_of_network_connect_and_disconnect(crash_env, op):
    """"alpha" sorts before "bridge": connecting it moves the default route and the published ports
    to it, disconnecting moves them back, so every kind of step is crashed."""
    mc = crash_env
    port = random.randrange(20000, 60000)
    mc.ok("network", "create", "--subnet", f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}.0/24", "alpha")
    mc(*("run", "-d", "--name", "crashweb", "-p", f"{port}:80", *RUN_ARGS), check=True)
    connect, disconnect = ("network", "connect", "alpha", "crashweb"), ("network", "disconnect", "alpha", "crashweb")
    if op == "connect":
        steps = _steps(mc, "command", connect)
        mc(*disconnect, check=True)
    else:
        mc(*connect, check=True)
        steps = _steps(mc, "command", disconnect)
    assert len(steps) >= 4, steps
    before = _same_processes(_snapshot(mc))
    for n, label in enumerate(steps, 1):
        if op == "disconnect":
            mc(*connect, check=True)
        _crashing(mc, f"command:{n}", *(connect if op == "connect" else disconnect))
        nets = _networks_of(mc, "crashweb")  # the next command settles what the crash cut short
        assert nets in ({"bridge"}, {"bridge", "alpha"}), (label, nets)
        assert curl(f"http://127.0.0.1:{port}/") == "hello-crash\n", label  # the ports work whatever happened
        if "alpha" in nets:
            assert "eth1" in mc.ok("exec", "crashweb", "ip", "-o", "link"), label
            mc(*disconnect, check=True)
        diff = residue.settled_difference(before, lambda: _same_processes(_snapshot(mc)))
        assert not diff, f"after a crash at {label!r} of {op}:\n" + "\n".join(diff)
    mc("rm", "-f", "-v", "crashweb", check=True)
    mc("network", "rm", "alpha", check=True)


def test_the_exit_and_the_decision_to_restart_are_one_write(mc):
    """A supervisor killed right after it recorded the exit of a container its policy restarts has
    already written "restarting": there is no moment when the record says exited and a `wait` or
    an `rm` would take the container for stopped for good."""
    argv = ("--net", "none", "--restart", "on-failure:1", "busybox", "sh", "-c", "exit 3")
    steps = _steps(mc, "supervisor", ("run", "-d", "--name", "probe", *argv))
    mc.ok("rm", "-f", "probe")
    at = steps.index("exit recorded") + 1
    cid = _crashing(mc, f"supervisor:{at}", "run", "-d", "--name", "cut", *argv).stdout.strip()
    path = os.path.join(mc.root, "containers", cid, "container.json")
    deadline = time.monotonic() + 10
    while True:  # read the record itself: any command would reap the dead supervisor first
        with open(path) as f:
            rec = json.load(f)
        if rec["status"] != "running":
            break
        assert time.monotonic() < deadline, rec
        time.sleep(0.05)
    assert (rec["status"], rec["exit_code"], rec["restart_count"]) == ("restarting", 3, 1)
    mc.ok("rm", "-f", "cut")


def test_kill_9_of_a_supervisor_while_its_proxy_relays_a_connection(mc):
    """The proxies are threads of the container's supervisor: killed with it, they take their
    listeners and the connections they relay along, and the next command reaps the rest."""
    import socket
    import subprocess

    from tests.integration.nethelp import proxies
    port = random.randrange(20000, 60000)
    cid = mc.ok("run", "-d", "--name", "held", "-p", f"{port}:80", "busybox", "sh", "-c",
                "while true; do sleep 3600 | nc -l -p 80 >/dev/null; done").strip()  # nc ends at stdin EOF
    deadline = time.monotonic() + 5
    while ":80 " not in mc.ok("exec", "held", "netstat", "-ltn") and time.monotonic() < deadline:
        time.sleep(0.05)  # the proxy would accept a connection before nc listens, then drop it
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        while True:  # the proxy's own connection to the container, relaying ours
            out = subprocess.run(["ss", "-Htn", "state", "established", "( dport = :80 )"], capture_output=True,
                                 text=True).stdout
            if out.strip() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert out.strip(), "the proxy opened no connection to the container"
        client.sendall(b"hello\n")
        owner = json.loads(open(os.path.join(mc.root, "containers", cid, "container.json")).read())["supervisor"]
        listening = proxies(port)
        assert len(listening) >= 1 and all(f"monitor {cid}" in line for line in listening)
        os.kill(owner["pid"], 9)
        assert client.recv(10) == b""  # the relayed connection ended with the supervisor
    except ConnectionResetError:
        pass
    finally:
        client.close()
    assert "Exited (255)" in mc.ok("ps", "-a", "--filter", "name=held")  # reaped: pid 1 died with its supervisor
    assert proxies(port) == []
    with socket.socket() as again:  # the host port is free: nothing of the dead supervisor holds it
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("0.0.0.0", port))
    mc.ok("rm", "held")
