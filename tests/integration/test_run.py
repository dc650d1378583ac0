"""`run` against the real kernel: isolation proven from inside, exit codes, errors that change nothing."""

import os
import random
import socket
import subprocess
import time

import pytest


def test_hello(mc):
    assert mc.ok("run", "--rm", "busybox", "echo", "hello") == "hello\n"


def test_pid1_is_the_command(mc):
    out = mc.ok("run", "--rm", "busybox", "sh", "-c", "echo $$; cat /proc/1/cmdline")
    # busybox sh execs its last command in place, so pid 1 is now `cat` itself.
    assert out == "1\ncat\0/proc/1/cmdline\0"
    assert mc.ok("run", "--rm", "busybox", "cat", "/proc/1/comm") == "cat\n"


def test_host_processes_are_invisible(mc):
    pids = mc.ok("run", "--rm", "busybox", "sh", "-c", "ls /proc | grep -E '^[0-9]+$'").split()
    # Only the shell (pid 1) and its children exist in the container's pid namespace.
    assert set(pids) <= {"1", "2", "3", "4"}, pids
    assert str(os.getpid()) not in pids or len(pids) < 5


def test_hostname_is_short_id_and_differs_from_host(mc):
    out = mc.ok("run", "--name", "h1", "busybox", "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME")
    cid = mc.ok("inspect", "-f", "{{.Id}}", "h1").strip()
    assert out.split() == [cid[:12]] * 3
    assert cid[:12] != socket.gethostname()
    mc.ok("rm", "h1")


def test_hostname_flag(mc):
    assert mc.ok("run", "--rm", "-h", "box1", "busybox", "hostname") == "box1\n"


def test_uts_host_shares_the_hosts_uts_namespace_and_name(mc):
    mc.ok("run", "-d", "--name", "uts", "--uts", "host", "--net", "none", "busybox", "sleep", "60")
    pid = mc.ok("inspect", "-f", "{{.State.Pid}}", "uts").strip()
    assert os.readlink(f"/proc/{pid}/ns/uts") == os.readlink("/proc/self/ns/uts")
    assert os.readlink(f"/proc/{pid}/ns/ipc") != os.readlink("/proc/self/ns/ipc")  # only the UTS one is shared
    host = socket.gethostname()
    assert mc.ok("exec", "uts", "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME").split() == [host] * 3
    assert mc.ok("inspect", "-f", "{{.HostConfig.UTSMode}} {{.Config.Hostname}}", "uts").split() == ["host", host]
    mc.ok("rm", "-f", "uts")
    assert socket.gethostname() == host  # a container with the host's UTS namespace set no name of its own


def _sleepers(mark: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"^sleep {mark}"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_pid_host_sees_the_hosts_processes_and_takes_its_own_along(mc):
    """--pid host: no pid namespace of its own (it sees ours, with our pids); when its main process
    ends, the processes it left go too, as they would with the end of a pid namespace."""
    mark = str(random.randrange(10**6, 10**7))
    mc.ok("run", "-d", "--name", "ph", "--pid", "host", "--net", "none", "busybox", "sh", "-c",
          f"sleep {mark}1 & sleep {mark}2 & exec sleep {mark}3")
    pid = int(mc.ok("inspect", "-f", "{{.State.Pid}}", "ph"))
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    assert f"{os.getpid()}\n" in mc.ok("exec", "ph", "ls", "/proc").replace(" ", "\n")  # this test's own pid
    assert mc.ok("inspect", "-f", "{{.HostConfig.PidMode}}", "ph").strip() == "host"
    deadline = time.monotonic() + 5
    while len(_sleepers(mark)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_sleepers(mark)) == 3
    mc.ok("rm", "-f", "ph")
    assert _sleepers(mark) == []
    # a main process that ends by itself takes its background children along too
    out = mc.ok("run", "--pid", "host", "--net", "none", "--name", "ph2", "busybox", "sh", "-c",
                f"sleep {mark}4 & echo started")
    assert out == "started\n" and _sleepers(mark) == []
    mc.ok("rm", "ph2")


def test_host_mounts_are_invisible(mc, tmp_path):

    out = mc.ok("run", "--rm", "busybox", "cat", "/proc/mounts")
    assert str(tmp_path) not in out.replace(mc.root, "")  # our overlay paths aside, nothing of the host's tree
    assert out.split("\n")[0].startswith("overlay / overlay")
    with open("/proc/mounts") as f:
        host_mount_points = {line.split()[1] for line in f}
    inside = {line.split()[1] for line in out.splitlines()}
    assert "/work" not in inside and not ({"/boot", "/home", "/work"} & host_mount_points & inside)


def test_minimal_dev_and_readonly_sys(mc):
    out = mc.ok("run", "--rm", "busybox", "sh", "-c",
                "ls /dev; echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; touch /sys/x 2>&1 || echo sys-ro")
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm"):
        assert dev in out.split()
    assert "null-ok" in out and "\n4\n" in out and "sys-ro" in out
    assert "vda" not in out and "sda" not in out  # no host disks


def test_writes_are_private_to_the_container(mc):
    mc.ok("run", "--name", "w1", "busybox", "sh", "-c", "echo secret > /etc/motd; echo x > /bin/extra")
    assert mc("run", "--rm", "busybox", "cat", "/etc/motd").returncode == 1
    assert mc.ok("run", "--rm", "busybox", "sh", "-c", "ls /bin/extra 2>/dev/null || echo absent") == "absent\n"
    image_rootfs = mc.ok("inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", "w1").strip()
    assert not os.path.exists(os.path.join(image_rootfs, "etc/motd"))
    upper = mc.ok("inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "w1").strip()
    with open(os.path.join(upper, "etc/motd")) as f:
        assert f.read() == "secret\n"
    mc.ok("rm", "w1")


def test_net_none_has_only_loopback(mc):
    out = mc.ok("run", "--rm", "--net", "none", "busybox", "ip", "-o", "link")
    names = [line.split(":")[1].strip() for line in out.splitlines()]
    assert names == ["lo"]
    assert "UP" in out


def test_net_host_sees_host_interfaces(mc):
    host = sorted(os.listdir("/sys/class/net"))
    out = mc.ok("run", "--rm", "--network=host", "busybox", "ls", "/sys/class/net")
    assert sorted(out.split()) == host
    assert mc.ok("run", "--rm", "--net=host", "busybox", "hostname").strip() == socket.gethostname()


def test_default_network_mode_is_the_bridge(mc):
    out = mc.ok("run", "--rm", "busybox", "ls", "/sys/class/net")
    assert out.split() == ["eth0", "lo"]


def test_env_and_workdir(mc, monkeypatch):
    mc.env["FROM_HOST"] = "hostval"
    out = mc.ok("run", "--rm", "-e", "A=1", "-e", "FROM_HOST", "-e", "UNSET_VAR_XYZ", "-w", "/newdir",
                "busybox", "sh", "-c", "echo $A $FROM_HOST ${UNSET_VAR_XYZ-unset}; pwd; echo $PATH")
    assert out.splitlines() == ["1 hostval unset", "/newdir", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_etc_files_like_docker(mc):
    out = mc.ok("run", "--rm", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
    assert out.startswith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    assert "nameserver" in out


def test_stdin_is_forwarded_with_i(mc):
    assert mc.ok("run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z", input="hello\n") == "HELLO\n"
    # Without -i the container's stdin is empty, as in Docker.
    assert mc.ok("run", "--rm", "busybox", "cat", input="ignored\n") == ""


@pytest.mark.parametrize("cmd,code", [
    (["true"], 0), (["sh", "-c", "exit 3"], 3), (["/etc/passwd"], 126), (["/bin"], 126),
    (["nosuchcommand"], 127), (["/no/such/path"], 127), (["sh", "-c", "sleep 5 & kill -9 $!; wait $!"], 137),
])
def test_exit_codes(mc, cmd, code):
    proc = mc("run", "--rm", "busybox", *cmd)
    assert proc.returncode == code, proc.stderr
    if code == 127:
        assert "not found" in proc.stderr or "no such file" in proc.stderr
    if code in (126, 127):
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("minicontainer: Error response from daemon:")


def test_failed_start_leaves_created_container_like_docker(mc):
    proc = mc("run", "--name", "bad", "busybox", "nosuchcommand")
    assert proc.returncode == 127
    assert mc.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "bad") == "created 127\n"
    mc.ok("rm", "bad")


@pytest.mark.parametrize("args,message", [
    (["run", "--rm", "--pull", "never", "nosuchimage"], "No such image: nosuchimage:latest"),
    (["run", "--foo", "busybox"], "unknown flag: --foo"),
    (["run", "-z", "busybox"], "unknown shorthand flag: 'z' in -z"),
    (["run", "--name", "bad name!", "busybox", "true"], "Invalid container name (bad name!)"),
    (["run", "--rm", "-w", "relative", "busybox", "true"], "the working directory 'relative' is invalid"),
    (["run", "--rm", "--net", "nosuchnet", "busybox", "true"], "network nosuchnet not found"),
    (["run", "--rm", "Busybox"], "invalid reference format"),
    (["run", "--rm", "--name"], "flag needs an argument: --name"),
])
def test_bad_input_exits_125_and_changes_nothing(mc, args, message):
    mc.ok("run", "--rm", "busybox", "true")  # state root and image exist before
    before = sorted(os.listdir(os.path.join(mc.root, "containers")))
    proc = mc(*args)
    assert proc.returncode == 125, proc.stderr
    assert message in proc.stderr
    assert proc.stderr.splitlines()[0].startswith("minicontainer: ")
    assert sorted(os.listdir(os.path.join(mc.root, "containers"))) == before


def test_missing_command_for_imported_image(mc, tmp_path):
    import tarfile
    src = tmp_path / "rootfs"
    (src / "bin").mkdir(parents=True)
    tar = tmp_path / "img.tar"
    with tarfile.open(tar, "w") as t:
        t.add(src, arcname=".")
    mc.ok("import", str(tar), "empty:1")
    proc = mc("run", "--rm", "empty:1")
    assert proc.returncode == 125 and "no command specified" in proc.stderr
    assert mc.ok("ps", "-aq") == ""


def test_name_conflict(mc):
    cid = mc.ok("run", "--name", "dup", "busybox", "true").strip() or mc.ok("inspect", "-f", "{{.Id}}", "dup").strip()
    proc = mc("run", "--name", "dup", "busybox", "true")
    assert proc.returncode == 125
    assert f'The container name "/dup" is already in use by container "{cid}"' in proc.stderr
    assert len(mc.ok("ps", "-aq").split()) == 1
    mc.ok("rm", "dup")
