"""The pure part of cgroup limits: the flags as Docker's CLI parses them, the daemon's checks, the
files runc writes on v1 and v2, --sysctl (no root needed)."""

import pytest

from minicontainer.errors import DaemonError, UsageError
from minicontainer.specs import cgroup_limits as cl
from minicontainer.specs import sysctl
from minicontainer.specs.resources import Resources, check, cpu_list, from_host_config, nano_cpus, ram_in_bytes, resources_spec

EVERYTHING = {"memory", "swap", "oom_kill_disable", "pids", "cpu_shares", "cpu_quota", "cpuset", "blkio_weight"}


@pytest.mark.parametrize("text, want", [
    ("32m", 32 << 20), ("1.5g", 3 << 29), ("512k", 512 << 10), ("64MiB", 64 << 20), ("1024", 1024), ("2 GB", 2 << 30),
])
def test_sizes_are_binary_as_go_units_reads_them(text, want):
    assert ram_in_bytes(text) == want


def test_cpus_are_nano_cpus():
    assert nano_cpus("1.5") == 1_500_000_000
    assert nano_cpus("0.01") == 10_000_000
    with pytest.raises(ValueError, match="value is too precise"):
        nano_cpus("0.0000000001")


@pytest.mark.parametrize("flags, message", [
    ({"memory": "lots"}, '''invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots\''''),
    ({"cpus": "two"}, 'invalid argument "two" for "--cpus" flag: failed to parse two as a rational number'),
    ({"pids_limit": "x"}, 'invalid argument "x" for "--pids-limit" flag: strconv.ParseInt: parsing "x": invalid syntax'),
    ({"blkio_weight": "70000"},
     'invalid argument "70000" for "--blkio-weight" flag: strconv.ParseUint: parsing "70000": value out of range'),
    ({"device_cgroup_rule": ["c 1:3"]},
     '''invalid argument "c 1:3" for "--device-cgroup-rule" flag: invalid device cgroup format 'c 1:3\''''),
    ({"device": ["/dev/a:/dev/b:rwm:x"]},
     'invalid argument "/dev/a:/dev/b:rwm:x" for "--device" flag: invalid device specification: /dev/a:/dev/b:rwm:x'),
])
def test_flag_errors_are_the_clis(flags, message):
    with pytest.raises(UsageError) as err:
        resources_spec(**flags)
    assert str(err.value) == message


def test_device_forms():
    res = resources_spec(device=["/dev/fuse", "/dev/null:/dev/mynull", "/dev/zero:r", "/dev/full:/dev/f:rw"])
    assert [(d.path_on_host, d.path_in_container, d.permissions) for d in res.devices] == [
        ("/dev/fuse", "/dev/fuse", "rwm"), ("/dev/null", "/dev/mynull", "rwm"), ("/dev/zero", "/dev/zero", "r"),
        ("/dev/full", "/dev/f", "rw")]


def test_host_config_is_dockers_and_reads_back():
    res = resources_spec(memory="32m", cpus="0.5", pids_limit="0", device_cgroup_rule=["c 1:11 r"])
    hc = res.host_config()
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"]) == (32 << 20, 64 << 20, 500_000_000, None)
    assert hc["DeviceCgroupRules"] == ["c 1:11 r"]
    assert from_host_config(hc).host_config() == hc


@pytest.mark.parametrize("res, message", [
    (Resources(memory=1 << 20), "Minimum memory limit allowed is 6MB"),
    (Resources(memory=64 << 20, memory_swap=32 << 20), "Minimum memoryswap limit should be larger than memory limit"),
    (Resources(memory_swap=32 << 20), "You should always set the Memory limit when using Memoryswap limit"),
    (Resources(memory=32 << 20, memory_reservation=64 << 20), "can not be less than memory reservation limit"),
    (Resources(nano_cpus=3_000_000_000), "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    (Resources(cpuset_cpus="0-3"), "Requested CPUs are not available - requested 0-3, available: 0-1"),
    (Resources(cpuset_cpus="1-0"), "Invalid value 1-0 for cpuset cpus"),
    (Resources(blkio_weight=5), "Range of blkio weight is from 10 to 1000"),
])
def test_daemon_refusals(res, message):
    with pytest.raises(DaemonError, match=message):
        check(res, 2, "0-1", EVERYTHING)


def test_what_the_machine_cannot_hold_is_dropped_with_dockers_warning():
    res = Resources(memory=32 << 20, blkio_weight=500, oom_kill_disable=True)
    warnings = check(res, 2, "0-1", EVERYTHING - {"blkio_weight", "oom_kill_disable", "swap"})
    assert warnings == [
        "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.",
        "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
        "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."]
    assert (res.memory, res.memory_swap, res.blkio_weight, res.oom_kill_disable) == (32 << 20, -1, 0, False)
    assert cpu_list("0-2,5") == {0, 1, 2, 5}


def test_v1_writes_are_runcs():
    res = Resources(memory=32 << 20, memory_reservation=16 << 20, nano_cpus=1_500_000_000, cpu_shares=512,
                    cpuset_cpus="0", pids_limit=20)
    writes = [(w.controller, w.file, w.value) for w in cl.v1_writes(res, cl.device_rules(False, ["c 1:11 r"]))]
    assert writes[:8] == [
        ("memory", "memory.limit_in_bytes", str(32 << 20)), ("memory", "memory.memsw.limit_in_bytes", str(64 << 20)),
        ("memory", "memory.soft_limit_in_bytes", str(16 << 20)), ("cpu", "cpu.shares", "512"),
        ("cpu", "cpu.cfs_period_us", "100000"), ("cpu", "cpu.cfs_quota_us", "150000"),
        ("cpuset", "cpuset.cpus", "0"), ("pids", "pids.max", "20")]
    assert writes[8] == ("devices", "devices.deny", "a")
    assert [v for c, f, v in writes[9:]] == cl.DEFAULT_DEVICE_RULES + ["c 1:11 r"]
    assert [(w.file, w.value) for w in cl.v1_writes(Resources(), cl.device_rules(True, []))] == [
        ("devices.allow", "a *:* rwm")]


def test_v2_writes_are_runcs():
    res = Resources(memory=32 << 20, memory_swap=-1, nano_cpus=500_000_000, cpu_shares=1024, pids_limit=5,
                    blkio_weight=500)
    assert [(w.file, w.value) for w in cl.v2_writes(res)] == [
        ("memory.max", str(32 << 20)), ("cpu.weight", "39"), ("cpu.max", "50000 100000"), ("pids.max", "5"),
        ("io.weight", str(1 + (490 * 9999) // 990))]
    assert [(w.file, w.value) for w in cl.v2_writes(Resources(memory=32 << 20))] == [
        ("memory.max", str(32 << 20)), ("memory.swap.max", str(32 << 20))]


def test_sysctls_docker_accepts():
    assert sysctl.parse(["net.ipv4.ip_forward=1", "kernel.shmmax=1000", "fs.mqueue.msg_max=20"]) == {
        "net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "20"}
    for bad in ("kernel.hostname=x", "vm.swappiness=1", "net.ipv4.ip_forward"):
        with pytest.raises(UsageError, match=f"invalid argument \"{bad}\" for \"--sysctl\" flag: sysctl '{bad}' is not allowed"):
            sysctl.parse([bad])
    assert sysctl.proc_path("net.ipv4.conf.eth0.forwarding") == "/proc/sys/net/ipv4/conf/eth0/forwarding"


def test_restart_policies_as_docker_parses_and_decides_them():
    from minicontainer.specs import restart
    assert restart.parse("on-failure:2").json() == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert restart.parse("").name == "no" and restart.parse("always").restarts
    for text, message in [("bogus", "invalid restart policy: unknown policy 'bogus'"),
                          ("always:3", "maximum retry count can only be used with 'on-failure'"),
                          ("on-failure:x", "maximum retry count must be an integer"),
                          (":1", "no policy provided before colon")]:
        with pytest.raises((DaemonError, UsageError), match=message):
            restart.parse(text)
    twice = restart.parse("on-failure:2")
    assert [restart.should_restart(twice, 1, n, False) for n in range(3)] == [True, True, False]
    assert not restart.should_restart(twice, 0, 0, False)          # success is not a failure
    assert not restart.should_restart(restart.parse("always"), 0, 5, True)  # stopped by the user
    assert [restart.next_delay(0, 0), restart.next_delay(0.1, 1), restart.next_delay(0.4, 12)] == [0.1, 0.2, 0.1]


def test_ulimits_as_go_units_reads_them():
    from minicontainer.specs import ulimits
    assert ulimits.parse(["nofile=1024:2048", "nproc=50", "nofile=512:1024"]) == [
        {"Name": "nofile", "Hard": 1024, "Soft": 512}, {"Name": "nproc", "Hard": 50, "Soft": 50}]
    for text, message in [("nofile", "invalid ulimit argument: nofile"), ("foo=1", "invalid ulimit type: foo"),
                          ("nofile=2:1", "ulimit soft limit must be less than or equal to hard limit: 2 > 1")]:
        with pytest.raises(UsageError, match=f'invalid argument "{text}" for "--ulimit" flag: {message}'):
            ulimits.parse([text])
