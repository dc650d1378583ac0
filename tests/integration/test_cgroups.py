"""A container's cgroup, on the real kernel: made before its process runs, holding its limits,
joined by exec, removed by rm and after a kill -9 of its supervisor; --memory's OOM kill,
--pids-limit against a fork flood, --cpus, the devices cgroup, --sysctl and --read-only. Every
probe stays inside the container's own limits and namespaces."""

import json
import os
import signal
import time

import pytest

from minicontainer.kernel import cgroups

LAYOUT = cgroups.layout()
pytestmark = pytest.mark.skipif(LAYOUT is None or LAYOUT.version != 1, reason="this machine's v1 hierarchies")


def where(controller: str, cid: str, parent: str = "minicontainer") -> str:
    return os.path.join(LAYOUT.mounts[controller], parent, cid)


def read(controller: str, cid: str, name: str, parent: str = "minicontainer") -> str:
    with open(os.path.join(where(controller, cid, parent), name)) as f:
        return f.read().strip()


def inspect(mc, name: str) -> dict:
    return json.loads(mc.ok("inspect", name))[0]


def test_the_container_runs_in_its_cgroup_with_its_limits(mc):
    mc.ok("run", "-d", "--name", "lim", "--net", "none", "-m", "32m", "--memory-reservation", "16m", "--cpus", "0.5",
          "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "20", "busybox", "sleep", "60")
    c = inspect(mc, "lim")
    cid, pid = c["Id"], c["State"]["Pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        assert f"memory:/minicontainer/{cid}\n" in f.read()
    assert read("memory", cid, "memory.limit_in_bytes") == str(32 << 20)
    assert read("memory", cid, "memory.memsw.limit_in_bytes") == str(64 << 20)  # Docker's default: twice the memory
    assert read("memory", cid, "memory.soft_limit_in_bytes") == str(16 << 20)
    assert (read("cpu", cid, "cpu.cfs_quota_us"), read("cpu", cid, "cpu.cfs_period_us")) == ("50000", "100000")
    assert read("cpu", cid, "cpu.shares") == "512" and read("cpuset", cid, "cpuset.cpus") == "0"
    assert read("pids", cid, "pids.max") == "20"
    hc = c["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"], hc["NanoCpus"], hc["CpuShares"],
            hc["CpusetCpus"], hc["PidsLimit"]) == (32 << 20, 64 << 20, 16 << 20, 500_000_000, 512, "0", 20)
    # an exec joins the container's cgroup, as Docker's do
    assert f"pids:/minicontainer/{cid}\n" in mc.ok("exec", "lim", "cat", "/proc/self/cgroup")
    mc.ok("rm", "-f", "lim")
    assert not any(os.path.exists(where(c, cid)) for c in LAYOUT.mounts)


def test_the_cgroup_goes_after_a_kill_9_of_the_supervisor(mc):
    mc.ok("run", "-d", "--name", "orphan", "--net", "none", "--pids-limit", "5", "busybox", "sleep", "60")
    cid = inspect(mc, "orphan")["Id"]
    with open(os.path.join(mc.root, "containers", cid, "container.json")) as f:
        supervisor = json.load(f)["supervisor"]["pid"]
    os.kill(supervisor, signal.SIGKILL)
    time.sleep(0.3)
    assert "Exited (" in mc.ok("ps", "-a")  # the next command reaps it and undoes its journal
    assert not any(os.path.exists(where(c, cid)) for c in LAYOUT.mounts)
    mc.ok("rm", "orphan")


def test_an_oom_kill_is_exit_137_and_oomkilled(mc):
    # the shell doubles a string until the 8 MiB limit (no swap on top) kills it
    out = mc("run", "--name", "oom", "--net", "none", "-m", "8m", "--memory-swap", "8m", "busybox", "sh", "-c",
             "x=a; while true; do x=$x$x; done")
    assert out.returncode == 137
    state = inspect(mc, "oom")["State"]
    assert (state["OOMKilled"], state["ExitCode"]) == (True, 137)
    mc.ok("rm", "oom")


def test_a_container_that_was_not_oom_killed_says_so(mc):
    mc("run", "--name", "fine", "--net", "none", "-m", "32m", "busybox", "sh", "-c", "sleep 5 & kill -9 $!; wait $!")
    state = inspect(mc, "fine")["State"]
    assert (state["OOMKilled"], state["ExitCode"]) == (False, 137)
    mc.ok("rm", "fine")


def test_pids_limit_stops_a_fork_flood(mc):
    out = mc("run", "--rm", "--net", "none", "--pids-limit", "8", "busybox", "sh", "-c",
             "for i in $(seq 20); do sleep 2 & done; wait")
    assert "can't fork" in out.stderr and "Resource temporarily unavailable" in out.stderr


def test_cpus_roughly_holds(mc):
    """A busy loop under --cpus 0.25 gets about a quarter of one CPU (loose: under 0.5 s a second)."""
    mc.ok("run", "-d", "--name", "spin", "--net", "none", "--cpus", "0.25", "busybox", "sh", "-c", "while :; do :; done")
    cid = inspect(mc, "spin")["Id"]
    start = int(read("cpuacct", cid, "cpuacct.usage"))
    time.sleep(1.0)
    used = int(read("cpuacct", cid, "cpuacct.usage")) - start
    throttled = dict(line.split() for line in read("cpu", cid, "cpu.stat").splitlines())["nr_throttled"]
    mc.ok("rm", "-f", "spin")
    assert 0 < used < 500_000_000 and int(throttled) > 0


OPEN_KMSG = "mknod /tmp/kmsg c 1 11 && exec 3</tmp/kmsg && echo opened"
SYSLOG = ["--cap-add", "SYSLOG"]  # what /dev/kmsg itself asks of an opener: the devices cgroup is then all that refuses


def test_a_device_outside_the_default_list_cannot_be_opened_even_when_made(mc):
    out = mc("run", "--rm", "--net", "none", *SYSLOG, "busybox", "sh", "-c", OPEN_KMSG)
    assert out.returncode != 0 and "can't open /tmp/kmsg: Operation not permitted" in out.stderr  # made (MKNOD), not opened
    assert mc.ok("run", "--rm", "--net", "none", *SYSLOG, "--device-cgroup-rule", "c 1:11 r", "busybox", "sh", "-c",
                 OPEN_KMSG) == "opened\n"
    assert mc.ok("run", "--rm", "--net", "none", *SYSLOG, "--device", "/dev/kmsg:r", "busybox", "sh", "-c",
                 "exec 3</dev/kmsg && echo opened") == "opened\n"
    assert mc.ok("run", "--rm", "--net", "none", "--privileged", "busybox", "sh", "-c", OPEN_KMSG) == "opened\n"
    mc.ok("create", "--name", "dev", "--device", "/dev/kmsg:r", "--device-cgroup-rule", "c 1:11 r", "busybox")
    hc = inspect(mc, "dev")["HostConfig"]
    assert hc["Devices"] == [{"PathOnHost": "/dev/kmsg", "PathInContainer": "/dev/kmsg", "CgroupPermissions": "r"}]
    assert hc["DeviceCgroupRules"] == ["c 1:11 r"]


def test_a_cgroup_parent_of_the_users(mc):
    mc.ok("run", "-d", "--name", "nested", "--net", "none", "--cgroup-parent", "/minicontainer-test/group",
          "busybox", "sleep", "60")
    cid = inspect(mc, "nested")["Id"]
    assert os.path.isdir(where("pids", cid, "minicontainer-test/group"))
    assert inspect(mc, "nested")["HostConfig"]["CgroupParent"] == "/minicontainer-test/group"
    mc.ok("rm", "-f", "nested")
    assert not os.path.exists(os.path.join(LAYOUT.mounts["pids"], "minicontainer-test"))  # it made them: it removes them


def test_a_cpuset_parent_another_start_made_but_did_not_fill_yet_is_filled(mc):
    """Two starts at once on a fresh host: one has made the shared parent, not yet given it CPUs and
    memory nodes; the other must fill it rather than take it as done (a task cannot join an empty
    cpuset: ENOSPC)."""
    parent = os.path.join(LAYOUT.mounts["cpuset"], "minicontainer-race")
    os.mkdir(parent)  # as the racing start leaves it: cpuset.cpus and cpuset.mems empty
    try:
        assert open(os.path.join(parent, "cpuset.cpus")).read().strip() == ""
        out = mc("run", "--rm", "--net", "none", "--cgroup-parent", "/minicontainer-race", "busybox", "echo", "ran")
        assert (out.returncode, out.stdout, out.stderr) == (0, "ran\n", "")
        assert open(os.path.join(parent, "cpuset.cpus")).read().strip() != ""
    finally:
        for controller in set(LAYOUT.mounts.values()):
            try:
                os.rmdir(os.path.join(controller, "minicontainer-race"))
            except FileNotFoundError:
                pass


def test_sysctl_is_the_containers_own(mc):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host = f.read()
    out = mc.ok("run", "--rm", "--net", "none", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=65536",
                "busybox", "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax")
    assert out == "1\n65536\n"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host
    out = mc("run", "--rm", "--net", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true")
    assert out.returncode == 125 and 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace' in out.stderr
    assert mc.ok("ps", "-aq") == ""


def test_read_only_root(mc):
    out = mc("run", "--rm", "--net", "none", "--read-only", "busybox", "touch", "/x")
    assert out.returncode == 1 and "Read-only file system" in out.stderr
    mc.ok("run", "--rm", "--net", "none", "--read-only", "--tmpfs", "/tmp", "busybox", "touch", "/tmp/x")
    mc.ok("create", "--name", "ro", "--read-only", "busybox")
    assert inspect(mc, "ro")["HostConfig"]["ReadonlyRootfs"] is True


@pytest.mark.parametrize("flags, message", [
    (["-m", "1m"], "Error response from daemon: Minimum memory limit allowed is 6MB"),
    (["-m", "lots"], '''invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots\''''),
    (["--cpus", "64"], "range of CPUs is from 0.01 to"),
    (["--cpuset-cpus", "0-63"], "Requested CPUs are not available - requested 0-63"),
    (["--memory-swap", "8m"], "You should always set the Memory limit when using Memoryswap limit, see usage"),
    (["--sysctl", "kernel.hostname=x"], "sysctl 'kernel.hostname=x' is not allowed"),
    (["--device", "/dev/nonexistent"],
     'error gathering device information while adding custom device "/dev/nonexistent": no such file or directory'),
    (["--device-cgroup-rule", "x 1:2 r"], "invalid device cgroup format 'x 1:2 r'"),
])
def test_bad_input_is_refused_and_creates_nothing(mc, flags, message):
    out = mc("run", "--rm", *flags, "busybox", "true")
    assert out.returncode == 125 and message in out.stderr, out.stderr
    assert mc.ok("ps", "-aq") == ""


def test_what_this_machine_cannot_hold_is_a_warning(mc):
    out = mc("run", "--rm", "--net", "none", "--blkio-weight", "300", "busybox", "true")
    if "blkio_weight" in cgroups.supported(LAYOUT):
        pytest.skip("this kernel has a blkio weight")
    assert out.returncode == 0
    assert out.stderr == ("WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                          "Weight discarded.\n")


def test_stats_shows_dockers_columns_from_the_cgroup(mc):
    mc.ok("run", "-d", "--name", "st", "--net", "none", "-m", "64m", "busybox", "sh", "-c",
          "sleep 60 & sleep 60 & wait")
    lines = mc.ok("stats", "--no-stream").splitlines()
    assert [h.strip() for h in lines[0].split("   ") if h.strip()] == [
        "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
    assert len(lines) == 2
    row = mc.ok("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.NetIO}}", "st").strip()
    name, mem, pids, net = row.split("|")
    assert (name, mem.split(" / ")[1], pids, net) == ("st", "64MiB", "3", "0B / 0B")  # --net none: only lo
    mc.ok("stop", "-t", "0", "st")
    assert mc.ok("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}") == \
        "st 0.00% 0B / 0B 0\n"


def test_top_lists_the_containers_processes_only(mc):
    mc.ok("run", "-d", "--name", "tp", "--net", "none", "busybox", "sh", "-c", "sleep 61 & sleep 62 & wait")
    out = mc.ok("top", "tp").splitlines()
    assert out[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    commands = sorted(line.split(None, 7)[7] for line in out[1:])
    assert commands == ["sh -c sleep 61 & sleep 62 & wait", "sleep 61", "sleep 62"]
    assert mc.ok("top", "tp", "-o", "pid,comm").splitlines()[0].split() == ["PID", "COMMAND"]
    mc.ok("stop", "-t", "0", "tp")
    out = mc("top", "tp")
    assert out.returncode == 1 and "is not running" in out.stderr


def test_restart_on_failure_restarts_twice_then_leaves_it(mc):
    mc.ok("run", "-d", "--name", "flaky", "--net", "none", "--restart", "on-failure:2", "busybox", "sh", "-c",
          "echo ran; exit 3")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = inspect(mc, "flaky")
        if state["RestartCount"] == 2 and state["State"]["Status"] == "exited":
            break
        time.sleep(0.1)
    assert (state["RestartCount"], state["State"]["ExitCode"]) == (2, 3)
    assert state["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert mc.ok("logs", "flaky") == "ran\nran\nran\n"
    mc.ok("rm", "flaky")


def test_a_stopped_container_is_not_restarted(mc):
    mc.ok("run", "-d", "--name", "always", "--net", "none", "--restart", "always", "busybox", "sleep", "60")
    mc.ok("stop", "-t", "0", "always")
    time.sleep(0.5)  # more than the first restart delay
    state = inspect(mc, "always")
    assert (state["State"]["Status"], state["RestartCount"]) == ("exited", 0)
    mc.ok("start", "always")  # the user's start: its policy holds again
    pid = inspect(mc, "always")["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)  # the container dies by itself (as the host's OOM killer would kill it)
    deadline = time.monotonic() + 5
    while inspect(mc, "always")["RestartCount"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert inspect(mc, "always")["RestartCount"] == 1
    mc.ok("rm", "-f", "always")


def test_restart_and_rm_conflict(mc):
    out = mc("run", "--rm", "--restart", "always", "busybox", "true")
    assert out.returncode == 125 and "conflicting options: cannot specify both --restart and --rm" in out.stderr


def test_ulimit_is_set_before_exec(mc):
    out = mc.ok("run", "--rm", "--net", "none", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c",
                "ulimit -Sn; ulimit -Hn")
    assert out == "512\n1024\n"
    mc.ok("create", "--name", "ul", "--ulimit", "nproc=64", "busybox")
    assert inspect(mc, "ul")["HostConfig"]["Ulimits"] == [{"Name": "nproc", "Hard": 64, "Soft": 64}]


def test_init_is_pid_1_and_reaps_orphans(mc):
    out = mc.ok("run", "--rm", "--net", "none", "--init", "busybox", "sh", "-c",
                "cat /proc/1/cmdline | tr '\\0' ' '; echo; (sleep 0.1 &) ; sleep 0.5; ps -o stat,comm | grep -c Z || true")
    first, zombies = out.splitlines()
    assert first.startswith("/sbin/docker-init -- sh -c ") and zombies == "0"
    explained = mc.ok("run", "--dry-run", "--net", "none", "--init", "--ulimit", "nofile=512:1024", "busybox", "true")
    assert "prlimit --pid $$ --nofile=512:1024" in explained and "/sbin/docker-init -- true" in explained
