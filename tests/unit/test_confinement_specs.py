"""The pure part of confinement: capability sets, --security-opt, seccomp profiles (no root needed)."""

import json

import pytest

from minicontainer.errors import DaemonError, MCError
from minicontainer.specs import capabilities as caps
from minicontainer.specs import seccomp as sp
from minicontainer.specs.seccomp_default import DEFAULT
from minicontainer.specs.security import parse_options, security_spec

EVERY = caps.ALL_KNOWN


def test_default_set_is_dockers():
    assert caps.mask(caps.container_caps([], [], False, EVERY)) == 0xA80425FB


@pytest.mark.parametrize("add, drop, want", [
    (["net_admin"], ["CAP_CHOWN"], (0xA80425FB | 1 << 12) & ~1),
    ([], ["ALL"], 0),
    (["KILL"], ["all"], 1 << 5),
    (["ALL"], ["SYS_ADMIN"], EVERY & ~(1 << 21)),
])
def test_cap_add_and_drop(add, drop, want):
    assert caps.mask(caps.container_caps(add, drop, False, EVERY)) == want


def test_privileged_is_what_the_environment_has():
    without_sys_resource = EVERY & ~(1 << 24)
    assert caps.mask(caps.container_caps([], [], True, without_sys_resource)) == without_sys_resource


def test_capability_errors_are_dockers():
    with pytest.raises(DaemonError, match='invalid CapAdd: unknown capability: "CAP_FOO"'):
        caps.container_caps(["foo"], [], False, EVERY)
    with pytest.raises(DaemonError, match="capability not supported by your kernel"):
        caps.container_caps(["SYS_RESOURCE"], [], False, EVERY & ~(1 << 24))


def test_security_opts():
    assert parse_options(None).seccomp == "builtin"
    assert parse_options(["seccomp=unconfined"]).seccomp == "unconfined"
    assert parse_options(["no-new-privileges"]).no_new_privileges
    assert not parse_options(["no-new-privileges=false"]).no_new_privileges
    assert parse_options(["apparmor=unconfined"]).others == ("apparmor=unconfined",)
    for bad, n in (("bogus", 1), ("foo=bar", 2), ("no-new-privileges=maybe", 2)):
        with pytest.raises(DaemonError, match=f'invalid --security-opt {n}: "{bad}"'):
            parse_options([bad])


def test_a_profile_file_becomes_its_text(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    spec = security_spec(security_opt=[f"seccomp={path}"])
    assert spec.security_opt == ('seccomp={"defaultAction": "SCMP_ACT_ALLOW"}',)
    with pytest.raises(MCError, match=r"opening seccomp profile \(/no/p.json\) failed"):
        security_spec(security_opt=["seccomp=/no/p.json"])
    path.write_text("{not json")
    with pytest.raises(DaemonError, match="Decoding seccomp profile failed"):
        security_spec(security_opt=[f"seccomp={path}"])


def names_of(applied) -> set:
    return {n for r in applied.rules if r.action == "SCMP_ACT_ALLOW" and not r.args for n in r.names}


def test_default_profile_rules_follow_caps_arch_and_kernel():
    plain = sp.applicable(DEFAULT, list(caps.DEFAULT), "x86_64", "6.1.0-18-amd64")
    assert plain.arches == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert {"read", "execve", "arch_prctl", "ptrace"} <= names_of(plain)
    assert not {"mount", "keyctl", "bpf", "reboot"} & names_of(plain)
    assert any(r.names == ("clone3",) and r.errno == 38 for r in plain.rules)  # ENOSYS: libcs fall back to clone
    admin = sp.applicable(DEFAULT, [*caps.DEFAULT, "CAP_SYS_ADMIN"], "x86_64", "6.1.0")
    assert {"mount", "umount2", "unshare", "setns"} <= names_of(admin)
    assert not any(r.names == ("clone3",) and r.errno == 38 for r in admin.rules)
    old = sp.applicable(DEFAULT, list(caps.DEFAULT), "x86_64", "4.4.0")
    assert "ptrace" not in names_of(old)  # minKernel 4.8
    arm = sp.applicable(DEFAULT, list(caps.DEFAULT), "aarch64", "6.1.0")
    assert "arch_prctl" not in names_of(arm) and "arm_fadvise64_64" in names_of(arm)


def test_dockers_format_is_read():
    profile = sp.parse_docker_profile(json.dumps({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                     {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}),
        "f.json")
    applied = sp.applicable(profile, [], "x86_64", "6.1")
    assert applied.arches == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86")
    assert [r.names for r in applied.rules] == [("personality",)]
    assert applied.rules[0].args == (sp.Arg(0, "SCMP_CMP_EQ", 8),)
    with pytest.raises(DaemonError, match="unknown operator"):
        sp.parse_docker_profile('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], '
                                '"action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "BAD"}]}]}', "f")
