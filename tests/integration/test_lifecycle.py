"""Detached containers and their supervisors: logs, exec, stop, kill, rm, start, wait, ps, reaping."""

import json
import os
import signal
import time

import psutil


def _supervisor_pid(mc, name):
    state = json.load(open(os.path.join(mc.root, "containers", _id(mc, name), "container.json")))
    return state["supervisor"]["pid"], state["pid"]


def _id(mc, name):
    return mc.ok("inspect", "-f", "{{.Id}}", name).strip()


def test_detached_logs_exec_stop_rm(mc):
    cid = mc.ok("run", "-d", "--name", "web", "busybox", "sh", "-c",
                "echo to-stdout; echo to-stderr >&2; while true; do sleep 0.1; done").strip()
    assert len(cid) == 64 and all(c in "0123456789abcdef" for c in cid)
    time.sleep(0.3)
    logs = mc("logs", "web")
    assert logs.stdout == "to-stdout\n" and logs.stderr == "to-stderr\n"
    ps = mc.ok("ps")
    header, row = ps.splitlines()
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert row.startswith(cid[:12] + "   busybox   \"sh -c echo to-stdou…\"") and row.endswith("web")
    assert "Up " in row
    # exec joins the container's namespaces: same hostname, sees the container's pid 1.
    out = mc.ok("exec", "web", "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; pwd")
    assert out.splitlines() == [cid[:12], "sh -c echo to-stdout; echo to-stderr >&2; while true; do sleep 0.1; done ", "/"]
    assert mc.ok("exec", "-w", "/tmp", "-e", "X=y", "web", "sh", "-c", "pwd; echo $X") == "/tmp\ny\n"
    assert mc("exec", "web", "sh", "-c", "exit 7").returncode == 7
    assert mc("exec", "web", "nosuch").returncode == 127
    sup, init = _supervisor_pid(mc, "web")
    assert psutil.pid_exists(sup) and psutil.pid_exists(init)
    assert mc.ok("stop", "-t", "1", "web") == "web\n"
    assert not psutil.pid_exists(init) or psutil.Process(init).status() == psutil.STATUS_ZOMBIE
    status = mc.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}", "web")
    assert status == "exited 137 false\n"  # pid 1 ignores SIGTERM, so stop killed it after 1 s, as Docker does
    assert "Exited (137)" in mc.ok("ps", "-a")
    assert mc.ok("ps", "-q") == ""
    assert mc.ok("rm", "web") == "web\n"
    assert mc.ok("ps", "-aq") == ""
    assert not os.path.exists(os.path.join(mc.root, "containers", cid))


def test_stop_with_sigterm_handler_exits_cleanly(mc):
    mc.ok("run", "-d", "--name", "tt", "busybox", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    time.sleep(0.2)
    start = time.monotonic()
    mc.ok("stop", "tt")
    assert time.monotonic() - start < 5
    assert mc.ok("inspect", "-f", "{{.State.ExitCode}}", "tt") == "0\n"


def test_run_rm_leaves_nothing(mc):
    mc.ok("run", "--rm", "--name", "gone", "busybox", "sh", "-c", "echo x > /file")
    assert mc.ok("ps", "-aq") == ""
    assert os.listdir(os.path.join(mc.root, "containers")) == []
    assert not os.path.lexists(os.path.join(mc.root, "names", "gone"))


def test_detached_rm_container_removes_itself(mc):
    mc.ok("run", "-d", "--rm", "--name", "brief", "busybox", "sh", "-c", "sleep 0.2")
    assert mc.ok("wait", "brief") in ("0\n",)
    deadline = time.monotonic() + 5
    while mc.ok("ps", "-aq") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mc.ok("ps", "-aq") == ""


def test_rm_running_needs_force(mc):
    cid = mc.ok("run", "-d", "--name", "rr", "busybox", "sleep", "100").strip()
    proc = mc("rm", "rr")
    assert proc.returncode == 1
    assert proc.stderr == (f"Error response from daemon: You cannot remove a running container {cid}. "
                           "Stop the container before attempting removal or force remove\n")
    assert mc.ok("rm", "-f", "rr") == "rr\n"
    assert mc.ok("ps", "-aq") == ""


def test_kill_signal_and_wait(mc):
    mc.ok("run", "-d", "--name", "kk", "busybox", "sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done")
    time.sleep(0.2)
    assert mc.ok("kill", "-s", "USR1", "kk") == "kk\n"
    assert mc.ok("wait", "kk") == "42\n"
    proc = mc("kill", "kk")
    assert proc.returncode == 1 and "is not running" in proc.stderr


def test_start_and_restart_keep_the_writable_layer(mc):
    mc.ok("run", "--name", "st", "busybox", "sh", "-c", "echo run >> /count; cat /count")
    assert mc.ok("start", "st") == "st\n"
    assert mc.ok("wait", "st") == "0\n"
    assert mc.ok("logs", "st") == "run\nrun\nrun\n"  # first run printed 1 line, the second 2
    mc.ok("rm", "st")


def test_lookup_by_name_full_id_and_prefix(mc):
    cid = mc.ok("run", "-d", "--name", "look", "busybox", "sleep", "100").strip()
    for ref in ("look", cid, cid[:5]):
        assert mc.ok("inspect", "-f", "{{.Name}}", ref) == "/look\n"
    proc = mc("inspect", "nosuch")
    assert proc.returncode == 1 and proc.stderr == "Error: No such object: nosuch\n"
    proc = mc("stop", "nosuch")
    assert proc.returncode == 1 and proc.stderr == "Error response from daemon: No such container: nosuch\n"
    mc.ok("rm", "-f", "look")


def test_inspect_keys_like_docker(mc):
    mc.ok("run", "-d", "--name", "insp", "-e", "K=V", "-w", "/srv", "busybox", "sleep", "100")
    data = json.loads(mc.ok("inspect", "insp"))
    assert isinstance(data, list) and len(data) == 1
    c = data[0]
    assert c["Name"] == "/insp" and c["Path"] == "sleep" and c["Args"] == ["100"]
    assert c["State"]["Status"] == "running" and c["State"]["Running"] is True and c["State"]["Pid"] > 0
    assert c["Config"]["Cmd"] == ["sleep", "100"] and "K=V" in c["Config"]["Env"]
    assert c["Config"]["Hostname"] == c["Id"][:12] and c["Config"]["WorkingDir"] == "/srv"
    assert c["HostConfig"]["NetworkMode"] == "bridge" and c["HostConfig"]["AutoRemove"] is False
    assert c["NetworkSettings"]["IPAddress"] == f"{mc.net}.0.2" and c["NetworkSettings"]["Networks"]["bridge"]["Gateway"] == f"{mc.net}.0.1"
    assert c["Mounts"] == [] and "NetworkSettings" in c
    assert os.readlink(f"/proc/{c['State']['Pid']}/ns/net") != os.readlink("/proc/self/ns/net")
    mc.ok("rm", "-f", "insp")


def test_supervisor_killed_is_reaped_by_next_command(mc):
    mc.ok("run", "-d", "--name", "victim", "busybox", "sleep", "1000")
    sup, init = _supervisor_pid(mc, "victim")
    os.kill(sup, signal.SIGKILL)
    # The container dies with its supervisor (PR_SET_PDEATHSIG) ...
    deadline = time.monotonic() + 5
    while psutil.pid_exists(init) and psutil.Process(init).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "container survived its supervisor"
        time.sleep(0.02)
    # ... and the next command that looks at it records it as exited.
    ps = mc.ok("ps", "-a")
    assert "Exited (" in ps and "victim" in ps
    assert mc.ok("ps", "-q") == ""
    state = mc.ok("inspect", "-f", "{{.State.Status}} {{.State.Running}}", "victim")
    assert state == "exited false\n"
    mc.ok("rm", "victim")


def test_foreground_cli_killed_is_reaped(mc):
    proc = mc.popen("run", "--name", "fg", "busybox", "sleep", "1000")
    deadline = time.monotonic() + 5
    while '"running"' not in _read_state(mc, "fg"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert "Exited (" in mc.ok("ps", "-a")
    mc.ok("rm", "fg")


def _read_state(mc, name):
    try:
        cid = os.readlink(os.path.join(mc.root, "names", name))
        return open(os.path.join(mc.root, "containers", cid, "container.json")).read()
    except OSError:
        return ""


def test_concurrent_runs_with_same_name_one_wins(mc):
    procs = [mc.popen("run", "--name", "race", "busybox", "true", stdout=-1, stderr=-1) for _ in range(4)]
    results = [(p.wait(), p.stderr.read().decode()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 125, 125, 125]
    assert all("already in use" in err for code, err in results if code)
    mc.ok("rm", "race")


def test_logs_follow_streams_until_exit(mc):
    mc.ok("run", "-d", "--name", "ff", "busybox", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done")
    assert mc.ok("logs", "-f", "ff", timeout=20) == "line1\nline2\nline3\n"
    assert mc.ok("logs", "--tail", "1", "ff") == "line3\n"
    mc.ok("rm", "ff")


def test_restart(mc):
    mc.ok("run", "-d", "--name", "rs", "busybox", "sh", "-c", "trap 'exit 0' TERM; echo started; while true; do sleep 0.1; done")
    pid1 = mc.ok("inspect", "-f", "{{.State.Pid}}", "rs")
    assert mc.ok("restart", "-t", "2", "rs") == "rs\n"
    assert mc.ok("inspect", "-f", "{{.State.Status}}", "rs") == "running\n"
    assert mc.ok("inspect", "-f", "{{.State.Pid}}", "rs") != pid1
    time.sleep(0.2)
    assert mc.ok("logs", "rs") == "started\nstarted\n"
    mc.ok("rm", "-f", "rs")


def test_signals_reach_a_foreground_container(mc):
    proc = mc.popen("run", "--rm", "busybox", "sh", "-c", "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done",
                    stdout=-1, stderr=-1)
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)  # Docker's sig-proxy: the CLI passes it on to the container
    assert proc.wait(timeout=10) == 9
    assert proc.stdout.read() == b"got-term\n"


def test_inherited_descriptors_do_not_reach_the_container(mc):
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        proc = mc.popen("run", "--rm", "busybox", "ls", "/proc/self/fd", stdout=-1, pass_fds=(w,))
        out = proc.communicate(timeout=20)[0].decode().split()
    finally:
        os.close(r)
        os.close(w)
    assert sorted(out) == ["0", "1", "2", "3"]  # 3 is ls's own directory handle


def test_root_flag_selects_the_state_directory(mc, tmp_path):
    other = str(tmp_path / "other-root")
    env = dict(mc.env)
    env.pop("MINICONTAINER_ROOT")
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "minicontainer", "--root", other, "run", "--net", "none", "--name", "elsewhere",
                          "busybox", "true"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert os.path.islink(os.path.join(other, "names", "elsewhere"))
    assert mc.ok("ps", "-aq") == ""
    subprocess.run([sys.executable, "-m", "minicontainer", "--root", other, "rm", "elsewhere"], env=env, check=True,
                   capture_output=True)


def test_commands_without_network_do_not_import_pyroute2_or_iptc(mc):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "minicontainer", "run", "--rm", "--net=none", "busybox", "true"],
                         env=mc.env, capture_output=True, text=True)
    assert out.returncode == 0
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "minicontainer.runtime.spawn" in imported
    assert not {m for m in imported if m.split(".")[0] in ("pyroute2", "iptc", "psutil")}


def _imported(mc, *args: str) -> set[str]:
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "minicontainer", *args], env=mc.env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-500:]
    return {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}


# What a read-only command must not load (each costs milliseconds on every command): the start
# machinery, the firewall drivers, processes, archives and hashes, and typing (annotations only).
HEAVY = {"minicontainer.runtime.supervisor", "minicontainer.runtime.spawn", "minicontainer.network.ports",
         "subprocess", "shutil", "tarfile", "hashlib", "calendar", "typing", "pyroute2", "iptc", "psutil"}


def test_read_only_commands_import_only_what_they_use(mc):
    import subprocess
    import sys
    startup = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True).stderr
    site = {line.split("|")[-1].strip() for line in startup.splitlines() if "|" in line}  # a sitecustomize's, say
    mc.ok("run", "-d", "--name", "light", "-p", "80", "-v", "lightvol:/data", "busybox", "sleep", "300")
    mc.ok("ps")  # the first command after a new bridge compares the rules in full (network/repair.py)
    try:
        for args in (["ps"], ["ps", "-a"], ["inspect", "light"], ["port", "light"], ["logs", "light"], ["images"],
                     ["volume", "ls"], ["network", "ls"]):
            imported = _imported(mc, *args) - site
            assert "minicontainer.cli.commands" in imported  # it did run
            heavy = HEAVY - {"hashlib"} if args == ["network", "ls"] else HEAVY  # the predefined networks' ids
            assert not imported & heavy, f"{' '.join(args)} imports {sorted(imported & heavy)}"
        assert "minicontainer.network.ports" not in _imported(mc, "run", "--rm", "--net=none", "busybox", "true")
        # exec reads its container's cgroup from the journal, not every step there (the port steps' modules)
        assert not {"minicontainer.network.ports", "minicontainer.network.firewall"} & _imported(mc, "exec", "light", "true")
    finally:
        mc.ok("rm", "-f", "light")
        mc.ok("volume", "rm", "lightvol")


def test_rm_of_several_goes_side_by_side_in_order_and_f_skips_what_is_not_there(mc):
    names = [f"many{i}" for i in range(6)]
    for name in names:
        mc.ok("run", "-d", "--name", name, "--net", "none", "busybox", "sleep", "300")
    proc = mc("rm", "-f", names[0], "nosuch", *names[1:])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "".join(n + "\n" for n in names), "")
    assert mc.ok("ps", "-aq") == ""
    proc = mc("rm", "nosuch")  # without -f it is an error, as in Docker
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: No such container: nosuch\n")


def test_rm_f_of_a_restarting_container_at_any_moment_leaves_nothing(mc):
    """rm -f lands in the restart's delay or in the start again (its cgroup made, its veth being
    made): either way no start follows and nothing of it is left (the residue check: cgroups,
    links, rules, processes)."""
    for n, wait in enumerate((0.05, 0.12, 0.2, 0.3, 0.45, 0.7)):
        mc.ok("run", "-d", "--name", f"flap{n}", "--restart", "always", "busybox", "sh", "-c", "exit 3")
        time.sleep(wait)  # the first delays are 100, 200, 400 ms: each rm meets another moment
        mc.ok("rm", "-f", f"flap{n}")
    assert mc.ok("ps", "-aq") == ""


def test_stop_of_a_restarting_container_at_any_moment_keeps_it_stopped(mc):
    """stop in the restart's delay or in the start again: the container stays exited (a start that
    had begun is cut short), and nothing of that start is left."""
    for n, wait in enumerate((0.05, 0.15, 0.3, 0.5)):
        mc.ok("run", "-d", "--name", f"halt{n}", "--restart", "always", "busybox", "sh", "-c", "exit 3")
        time.sleep(wait)
        mc.ok("stop", "-t", "0", f"halt{n}")
        time.sleep(0.5)  # longer than the next restart delay
        state = json.loads(mc.ok("inspect", f"halt{n}"))[0]["State"]
        assert (state["Status"], state["Running"], state["Pid"]) == ("exited", False, 0), state
        mc.ok("rm", f"halt{n}")


def test_a_container_to_restart_never_looks_stopped_for_good(mc):
    """The exit and the decision to restart are one write: right after `wait` returns, the container
    is restarting (or running again), so `rm` without -f refuses it, as Docker's does."""
    mc.ok("run", "-d", "--name", "again", "--net", "none", "--restart", "always", "busybox", "sh", "-c", "sleep 0.3")
    for _ in range(3):
        assert mc.ok("wait", "again") == "0\n"
        proc = mc("rm", "again")
        assert proc.returncode == 1
        assert ("You cannot remove a restarting container" in proc.stderr
                or "You cannot remove a running container" in proc.stderr), proc.stderr
    assert int(mc.ok("inspect", "-f", "{{.RestartCount}}", "again")) >= 1
    mc.ok("rm", "-f", "again")


def test_rename_moves_the_name_and_what_resolves_on_a_user_network(mc):
    mc.ok("network", "create", "--subnet", "10.77.41.0/24", "renames")
    mc.ok("run", "-d", "--name", "old-name", "--net", "renames", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "asker", "--net", "renames", "busybox", "sleep", "300")
    assert mc("exec", "asker", "nslookup", "old-name").returncode == 0
    mc.ok("rename", "old-name", "new-name")
    assert "new-name" in mc.ok("ps", "--format", "{{.Names}}").split()
    assert mc("inspect", "old-name").returncode == 1
    assert mc.ok("inspect", "-f", "{{.Name}}", "new-name") == "/new-name\n"
    assert mc("exec", "asker", "nslookup", "new-name").returncode == 0  # the embedded DNS reads the records
    assert mc("exec", "asker", "nslookup", "old-name").returncode != 0
    proc = mc("rename", "new-name", "asker")
    assert proc.returncode == 1 and 'The container name "/asker" is already in use' in proc.stderr
    mc.ok("rm", "-f", "new-name", "asker")
    assert os.listdir(os.path.join(mc.root, "names")) in ([], [".lock"])
    mc.ok("network", "rm", "renames")


def test_pause_freezes_the_cgroup_and_unpause_thaws_it(mc, tmp_path):
    mc.ok("run", "-d", "--name", "ticker", "--net", "none", "busybox", "sh", "-c",
          "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done")

    def count() -> int:
        mc.ok("cp", "ticker:/tmp/n", str(tmp_path / "n"))  # cp reads the files of a frozen container too
        return int((tmp_path / "n").read_text())
    time.sleep(0.3)
    assert mc.ok("pause", "ticker") == "ticker\n"
    frozen = count()
    time.sleep(0.3)
    assert count() == frozen  # no process of it ran
    assert mc.ok("ps", "--format", "{{.Status}}|{{.State}}").strip().endswith("(Paused)|paused")
    assert mc.ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "ticker") == "paused true true\n"
    proc = mc("exec", "ticker", "true")
    assert proc.returncode == 1 and "is paused, unpause the container before exec" in proc.stderr
    proc = mc("pause", "ticker")
    assert proc.returncode == 1 and "is already paused" in proc.stderr
    assert mc.ok("unpause", "ticker") == "ticker\n"
    time.sleep(0.3)
    assert count() > frozen
    mc.ok("pause", "ticker")
    assert mc.ok("stop", "-t", "1", "ticker") == "ticker\n"  # the signal reaches it once thawed
    assert mc.ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "ticker") == "exited false\n"
    proc = mc("unpause", "ticker")
    assert proc.returncode == 1 and "is not running" in proc.stderr
    mc.ok("rm", "ticker")


def test_events_tell_what_happened_to_containers(mc):
    since = time.time()
    assert mc("run", "--rm", "--name", "ev1", "--net", "none", "busybox", "sh", "-c", "exit 4").returncode == 4
    mc.ok("run", "-d", "--name", "ev2", "--net", "none", "busybox", "sleep", "60")
    mc.ok("pause", "ev2")
    mc.ok("unpause", "ev2")
    mc.ok("rename", "ev2", "ev3")
    mc.ok("rm", "-f", "ev3")
    out = mc.ok("events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.2:.3f}", "--format",
                "{{.Action}} {{.Actor.Attributes.name}}")
    assert out.splitlines() == ["create ev1", "start ev1", "die ev1", "destroy ev1", "create ev2", "start ev2",
                                "pause ev2", "unpause ev2", "rename ev3", "die ev3", "destroy ev3"]
    died = mc.ok("events", "--since", "1m", "--until", "0s", "-f", "event=die", "-f", "container=ev1")
    assert len(died.splitlines()) == 1 and " container die " in died and "exitCode=4" in died
