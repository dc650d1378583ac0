"""cgroup v2, the unified layout of Debian 12 and most users' machines. This VM's hierarchy is
hybrid: its cgroup2 mount (/sys/fs/cgroup/unified) has no controllers, so on the real kernel we test
what needs none: the container's directory made, entered by its process and by exec, removed, and
the BPF device program (device programs attach to any cgroup2 directory). The limit files are
tested against a fake cgroup tree (a plain directory with the files the kernel would have)."""

import json
import os

import pytest

from minicontainer.kernel import cgroups
from minicontainer.runtime.cgroup import cgroup_step

UNIFIED = "/sys/fs/cgroup/unified"
needs_unified = pytest.mark.skipif(not os.path.isfile(f"{UNIFIED}/cgroup.procs"),
                                   reason="the hybrid layout's cgroup2 mount, to use beside the v1 hierarchies")


@pytest.fixture
def v2(mc):
    mc.env["MINICONTAINER_CGROUP_ROOT"] = UNIFIED
    return mc


@needs_unified
def test_the_container_and_its_exec_run_in_its_v2_cgroup(v2):
    v2.ok("run", "-d", "--name", "two", "--net", "none", "busybox", "sleep", "60")
    c = json.loads(v2.ok("inspect", "two"))[0]
    with open(f"/proc/{c['State']['Pid']}/cgroup") as f:
        assert f"0::/minicontainer/{c['Id']}\n" in f.read()
    assert f"0::/minicontainer/{c['Id']}\n" in v2.ok("exec", "two", "cat", "/proc/self/cgroup")
    v2.ok("rm", "-f", "two")
    assert not os.path.exists(f"{UNIFIED}/minicontainer")


@needs_unified
def test_no_controllers_means_dockers_warnings(v2):
    out = v2("run", "--rm", "--net", "none", "-m", "32m", "--pids-limit", "5", "busybox", "true")
    assert out.returncode == 0
    assert out.stderr.splitlines() == [
        "WARNING: Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
        "Limitation discarded.",
        "WARNING: Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
        "PIDs limit discarded."]


KMSG = "mknod /tmp/kmsg c 1 11 && exec 3</tmp/kmsg && echo opened"


@needs_unified
def test_the_bpf_device_program_refuses_what_the_list_does_not_allow(v2):
    """Here the v1 devices hierarchy is not used at all: the BPF program alone refuses."""
    out = v2("run", "--rm", "--net", "none", "--cap-add", "SYSLOG", "busybox", "sh", "-c", KMSG)
    assert out.returncode != 0 and "can't open /tmp/kmsg: Operation not permitted" in out.stderr
    assert v2.ok("run", "--rm", "--net", "none", "--cap-add", "SYSLOG", "--device-cgroup-rule", "c 1:11 r",
                 "busybox", "sh", "-c", KMSG) == "opened\n"
    out = v2("run", "--rm", "--net", "none", "--cap-add", "SYSLOG", "--device-cgroup-rule", "c 1:11 r",
             "busybox", "sh", "-c", "mknod /tmp/kmsg c 1 11 && exec 3>/tmp/kmsg")
    assert "Operation not permitted" in out.stderr  # the rule allows reading only
    assert v2.ok("run", "--rm", "--net", "none", "--privileged", "busybox", "sh", "-c", KMSG) == "opened\n"
    explained = v2.ok("run", "--dry-run", "--net", "none", "busybox", "true")
    assert "# devices: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to" in explained


def test_limits_land_in_a_v2_tree(tmp_path, monkeypatch):
    """A fake unified tree: the files runc writes, in the container's one directory; the parents
    pass the controllers on (cgroup.subtree_control)."""
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    lay = cgroups.Layout(2, root=str(root))
    hc = {"Memory": 32 << 20, "MemorySwap": 64 << 20, "NanoCpus": 1_500_000_000, "CpuShares": 512, "PidsLimit": 30,
          "Privileged": True}  # privileged: no device program to load into a directory that is not a cgroup
    step = cgroup_step(hc, "c" * 64, lay)
    # a fake tree has no files of its own in a new directory: a write makes the file the kernel would have had
    monkeypatch.setattr(cgroups, "write", lambda path, value: open(path, "w").write(value))
    step.do()
    leaf = root / "minicontainer" / ("c" * 64)
    assert {f.name: f.read_text() for f in leaf.iterdir()} == {
        "memory.max": str(32 << 20), "memory.swap.max": str(32 << 20), "cpu.weight": "20",
        "cpu.max": "150000 100000", "pids.max": "30"}
    assert (root / "cgroup.subtree_control").read_text() == "+cpu +cpuset +io +memory +pids"
    assert step.made == [str(root / "minicontainer"), str(leaf)]


def test_what_a_v2_machine_holds_is_read_below_its_root(tmp_path):
    """The root has no memory.swap.max or io weight files of its own: a child cgroup shows them."""
    root = tmp_path / "cg"
    (root / "system.slice").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu io memory pids\n")
    (root / "system.slice" / "memory.current").write_text("0\n")
    lay = cgroups.Layout(2, root=str(root))
    assert "swap" not in cgroups.supported(lay)  # swapaccount=0: no memory.swap.max below the root
    (root / "system.slice" / "memory.swap.max").write_text("max\n")
    assert {"memory", "swap", "pids", "cpu_quota", "blkio_weight"} <= cgroups.supported(lay)
    (root / "system.slice" / "io.stat").write_text("")
    (root / "system.slice" / "io.bfq.weight").write_text("default 100\n")
    assert cgroups.blkio_weight_file(lay) == "io.bfq.weight"
