"""A container's root is confined as Docker confines it: capability sets, seccomp, no_new_privs,
--privileged. Every probe is harmless to the host even if confinement were missing (no-op link
changes, changes inside the container's own namespaces)."""

import json

import pytest

from tests.helpers.cimage import static_program_image

DEFAULT = "00000000a80425fb"


def caps_of(out: str) -> dict:
    return dict(line.split(":\t") for line in out.splitlines() if line.startswith("Cap"))


def status(mc, *flags: str, field: str = "Cap") -> dict:
    out = mc.ok("run", "--rm", "--net", "none", *flags, "busybox", "grep", f"^{field}", "/proc/self/status")
    return dict(line.split(":\t") for line in out.splitlines())


def every_cap() -> str:
    """Every capability this machine lets us have: our own bounding set (a sandboxed VM may lack some)."""
    with open("/proc/self/status") as f:
        return next(line.split()[1] for line in f if line.startswith("CapBnd:"))


def test_root_gets_dockers_default_set_in_bounding_permitted_effective(mc):
    assert caps_of(mc.ok("run", "--rm", "--net", "none", "busybox", "grep", "Cap", "/proc/self/status")) == {
        "CapInh": "0" * 16, "CapPrm": DEFAULT, "CapEff": DEFAULT, "CapBnd": DEFAULT, "CapAmb": "0" * 16}


def test_another_user_has_none_effective_and_the_default_bound(mc):
    caps = status(mc, "-u", "1000")
    assert (caps["CapEff"], caps["CapPrm"], caps["CapBnd"]) == ("0" * 16, "0" * 16, DEFAULT)


def test_cap_add_and_cap_drop_change_the_set(mc):
    caps = status(mc, "--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN")
    assert int(caps["CapEff"], 16) == int(DEFAULT, 16) + (1 << 12) - (1 << 0)
    assert status(mc, "--cap-drop", "ALL")["CapEff"] == "0" * 16
    assert status(mc, "--cap-drop", "all", "--cap-add", "kill")["CapBnd"] == f"{1 << 5:016x}"
    assert status(mc, "--cap-add", "ALL")["CapEff"] == every_cap()


def test_net_admin_guards_link_changes(mc):
    """In its own network namespace: a link change needs NET_ADMIN (harmless: its own lo)."""
    denied = mc("run", "--rm", "--net", "none", "busybox", "ip", "link", "set", "lo", "mtu", "1500")
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr
    mc.ok("run", "--rm", "--net", "none", "--cap-add", "NET_ADMIN", "busybox", "ip", "link", "set", "lo", "mtu", "1500")


def test_host_network_without_net_admin_cannot_change_a_host_link(mc):
    with open("/sys/class/net/lo/mtu") as f:
        mtu = f.read().strip()  # setting lo's own mtu again: a no-op even if it were allowed
    out = mc("run", "--rm", "--net", "host", "busybox", "ip", "link", "set", "lo", "mtu", mtu)
    assert out.returncode != 0 and "Operation not permitted" in out.stderr


def test_chown_needs_chown_and_mount_needs_sys_admin(mc):
    mc.ok("run", "--rm", "--net", "none", "busybox", "chown", "1", "/tmp")
    out = mc("run", "--rm", "--net", "none", "--cap-drop", "chown", "busybox", "chown", "1", "/tmp")
    assert out.returncode == 1 and "Operation not permitted" in out.stderr
    out = mc("run", "--rm", "--net", "none", "busybox", "mount", "-t", "tmpfs", "none", "/tmp")
    assert out.returncode == 1 and "mount: permission denied" in out.stderr  # busybox's words for EPERM
    # with SYS_ADMIN the capability and the default profile's rule for it both allow it (its own mount namespace)
    mc.ok("run", "--rm", "--net", "none", "--cap-add", "SYS_ADMIN", "busybox", "mount", "-t", "tmpfs", "none", "/tmp")


PROBE_C = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    /* keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): Docker's profile does not allow keyctl */
    long r = syscall(SYS_keyctl, 0, -3, 0);
    printf("keyctl: %s\n", r < 0 ? strerror(errno) : "allowed");
    /* clone3 without SYS_ADMIN: the profile answers ENOSYS so that libcs fall back to clone */
    r = syscall(SYS_clone3, NULL, 0);
    printf("clone3: %s\n", r < 0 ? strerror(errno) : "allowed");
    return 0;
}
"""


@pytest.fixture
def probe(mc, tmp_path):
    return static_program_image(mc, tmp_path, "probe", PROBE_C)


def test_default_profile_blocks_a_syscall_that_unconfined_allows(mc, probe):
    confined = mc.ok("run", "--rm", "--net", "none", probe, "/probe")
    assert confined == "keyctl: Operation not permitted\nclone3: Function not implemented\n"
    free = mc.ok("run", "--rm", "--net", "none", "--security-opt", "seccomp=unconfined", probe, "/probe")
    assert "keyctl: Operation not permitted" not in free and "clone3: Function not implemented" not in free
    assert status(mc, "--security-opt", "seccomp=unconfined", field="Seccomp:")["Seccomp"] == "0"
    assert status(mc, field="Seccomp:")["Seccomp"] == "2"


def test_a_profile_file_in_dockers_format(mc, tmp_path):
    profile = tmp_path / "nomkdir.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    out = mc("run", "--rm", "--net", "none", "--security-opt", f"seccomp={profile}", "busybox", "mkdir", "/x")
    assert out.returncode == 1 and "Permission denied" in out.stderr
    mc.ok("create", "--name", "withfile", "--security-opt", f"seccomp={profile}", "busybox", "true")
    opts = json.loads(mc.ok("inspect", "withfile"))[0]["HostConfig"]["SecurityOpt"]
    assert json.loads(opts[0].removeprefix("seccomp="))["defaultAction"] == "SCMP_ACT_ALLOW"  # the profile, as Docker keeps it
    profile.unlink()
    mc.ok("start", "withfile")  # the record holds the profile: the file is not needed again


def test_no_new_privileges(mc):
    assert status(mc, field="NoNewPrivs")["NoNewPrivs"] == "0"
    assert status(mc, "--security-opt", "no-new-privileges", field="NoNewPrivs")["NoNewPrivs"] == "1"
    assert status(mc, "--security-opt", "no-new-privileges:true", field="NoNewPrivs")["NoNewPrivs"] == "1"


def test_privileged(mc):
    out = mc.ok("run", "--rm", "--net", "none", "--privileged", "busybox", "sh", "-c",
                "grep -E '^(CapEff|Seccomp):' /proc/self/status; grep ' /sys ' /proc/mounts; ls /dev;"
                " grep ' /proc/sys ' /proc/mounts | wc -l")
    assert f"CapEff:\t{every_cap()}" in out and "Seccomp:\t0" in out
    assert " /sys sysfs rw," in out
    assert "\nkmsg\n" in out  # the host's devices
    assert out.rstrip().endswith("\n0")  # /proc/sys not remounted read-only
    mc.ok("create", "--name", "priv", "--privileged", "busybox")
    hc = json.loads(mc.ok("inspect", "priv"))[0]["HostConfig"]
    assert hc["Privileged"] is True and hc["MaskedPaths"] is None and hc["ReadonlyPaths"] is None


def test_devices_outside_the_default_list_are_absent(mc):
    out = mc("run", "--rm", "--net", "none", "busybox", "cat", "/dev/kmsg")
    assert out.returncode == 1 and "No such file or directory" in out.stderr


def test_exec_is_confined_as_the_container(mc):
    mc.ok("run", "-d", "--name", "conf", "--net", "none", "--cap-drop", "ALL", "--cap-add", "NET_RAW", "busybox",
          "sleep", "60")
    assert caps_of(mc.ok("exec", "conf", "grep", "Cap", "/proc/self/status"))["CapEff"] == f"{1 << 13:016x}"
    assert caps_of(mc.ok("exec", "--privileged", "conf", "grep", "Cap", "/proc/self/status"))["CapEff"] == every_cap()
    assert "Seccomp:\t2" in mc.ok("exec", "conf", "grep", "Seccomp", "/proc/self/status")
    explained = mc.ok("explain", "conf")
    assert "# capabilities, as `setpriv --bounding-set -all,+net_raw --inh-caps -all" in explained
    assert "# seccomp: Docker's default profile, default action SCMP_ACT_ERRNO(1)" in explained
    hc = json.loads(mc.ok("inspect", "conf"))[0]["HostConfig"]
    assert (hc["CapAdd"], hc["CapDrop"], hc["Privileged"], hc["SecurityOpt"]) == (["NET_RAW"], ["ALL"], False, None)
    mc.ok("rm", "-f", "conf")


@pytest.mark.parametrize("flags, message", [
    (["--cap-add", "foo"], 'Error response from daemon: invalid CapAdd: unknown capability: "CAP_FOO"'),
    (["--cap-drop", "CAP_BAR"], 'Error response from daemon: invalid CapDrop: unknown capability: "CAP_BAR"'),
    (["--security-opt", "bogus"], 'Error response from daemon: invalid --security-opt 1: "bogus"'),
    (["--security-opt", "foo=bar"], 'Error response from daemon: invalid --security-opt 2: "foo=bar"'),
    (["--security-opt", "seccomp=/nonexistent/p.json"],
     "opening seccomp profile (/nonexistent/p.json) failed: open /nonexistent/p.json: no such file or directory"),
])
def test_bad_input_is_refused_and_creates_nothing(mc, flags, message):
    out = mc("run", "--rm", *flags, "busybox", "true")
    assert out.returncode == 125 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert mc.ok("ps", "-aq") == ""


def test_a_bad_profile_file_is_refused(mc, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_NOPE"}')
    out = mc("run", "--rm", "--security-opt", f"seccomp={bad}", "busybox", "true")
    assert out.returncode == 125 and "Decoding seccomp profile failed" in out.stderr
    assert mc.ok("ps", "-aq") == ""
