"""-v / --mount and volumes against the real kernel: bind mounts both ways, read-only enforced by the
kernel, copy-up into a new named volume, sharing between containers, anonymous volumes, bad input."""

import json
import os

import pytest


def _run(mc, *args):
    return mc.ok("run", "--rm", "--net", "none", *args)


def test_bind_mount_both_ways_and_missing_host_dir_created(mc, tmp_path):
    host = tmp_path / "shared dir ü"
    host.mkdir()
    (host / "from host.txt").write_text("hello from the host\n")
    out = _run(mc, "-v", f"{host}:/data", "busybox", "sh", "-c", "cat '/data/from host.txt'; echo ctr > /data/ctr.txt")
    assert out == "hello from the host\n"
    assert (host / "ctr.txt").read_text() == "ctr\n"
    missing = tmp_path / "made" / "by" / "run"
    _run(mc, "-v", f"{missing}:/m", "busybox", "touch", "/m/x")
    assert (missing / "x").exists() and oct(os.stat(missing).st_mode & 0o777) == "0o755"


def test_read_only_bind_is_enforced_by_the_kernel(mc, tmp_path):
    out = _run(mc, "-v", f"{tmp_path}:/ro:ro", "busybox", "sh", "-c", "echo x > /ro/f; echo rc=$?; grep ' /ro ' /proc/mounts")
    assert "rc=1" in out and " ro," in out.splitlines()[-1]
    assert not (tmp_path / "f").exists()
    proc = mc("run", "--rm", "--net", "none", "-v", f"{tmp_path}:/ro:ro", "busybox", "touch", "/ro/g")
    assert proc.returncode == 1 and "Read-only file system" in proc.stderr


def test_named_volume_copy_up_sharing_and_lifecycle(mc):
    # a new, empty named volume over /etc gets the image's /etc (the reverse of a bind mount)
    mc.ok("run", "--net", "none", "--name", "first", "-v", "etcvol:/etc", "busybox", "sh", "-c",
          "echo shared > /etc/note")
    data = json.loads(mc.ok("volume", "inspect", "etcvol"))[0]["Mountpoint"]
    assert data == os.path.join(mc.root, "volumes", "etcvol", "_data")
    assert os.path.exists(os.path.join(data, "passwd")) and open(os.path.join(data, "note")).read() == "shared\n"
    # another container sees the first one's write
    assert _run(mc, "-v", "etcvol:/other", "busybox", "cat", "/other/note") == "shared\n"
    mounts = json.loads(mc.ok("inspect", "-f", "{{json .Mounts}}", "first"))
    assert mounts == [{"Type": "volume", "Name": "etcvol", "Source": data, "Destination": "/etc", "Driver": "local",
                       "Mode": "z", "RW": True, "Propagation": ""}]
    proc = mc("volume", "rm", "etcvol")
    assert proc.returncode == 1 and "volume is in use" in proc.stderr
    assert mc.ok("volume", "ls") == "DRIVER    VOLUME NAME\nlocal     etcvol\n"
    mc.ok("rm", "first")
    assert mc.ok("volume", "rm", "etcvol") == "etcvol\n" and not os.path.exists(data)


def test_anonymous_volume_goes_with_rm_v_and_mount_flag(mc, tmp_path):
    mc.ok("run", "--net", "none", "--name", "anon", "-v", "/scratch", "--mount",
          f"type=bind,source={tmp_path},target=/b,readonly", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m",
          "busybox", "sh", "-c", "echo a > /scratch/a; grep -e ' /b ' -e ' /t ' /proc/mounts")
    mounts = json.loads(mc.ok("inspect", "-f", "{{json .Mounts}}", "anon"))
    assert [m["Type"] for m in mounts] == ["volume", "bind", "tmpfs"]
    assert mounts[1] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/b", "Mode": "", "RW": False,
                         "Propagation": "rprivate"}
    name = mounts[0]["Name"]
    assert len(name) == 64 and os.path.isdir(mounts[0]["Source"])
    mc.ok("rm", "-v", "anon")
    assert not os.path.exists(os.path.join(mc.root, "volumes", name))


@pytest.mark.parametrize("spec, message", [
    ("", "invalid empty volume spec"),
    ("a:b:c:d", "invalid spec: a:b:c:d: too many colons"),
    ("/tmp/mcx:rel", "mount path must be absolute"),
    ("/tmp/mcx:/", "destination can't be '/'"),
    ("/tmp/mcx:/d:xyz", "invalid mode: xyz"),
    ("a b:/c", "includes invalid characters for a local volume name"),
])
def test_bad_volume_specs_fail_and_change_nothing(mc, spec, message):
    proc = mc("run", "--rm", "-v", spec, "busybox", "true")
    assert proc.returncode == 125 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not os.path.exists("/tmp/mcx") and mc.ok("ps", "-aq") == ""
    assert not os.path.isdir(os.path.join(mc.root, "volumes")) or os.listdir(os.path.join(mc.root, "volumes")) == []


def test_mount_bind_source_must_exist(mc):
    proc = mc("run", "--rm", "--mount", "type=bind,source=/nonexistent-mc,target=/x", "busybox", "true")
    assert proc.returncode == 125
    assert "bind source path does not exist: /nonexistent-mc" in proc.stderr and mc.ok("ps", "-aq") == ""


def test_volume_create_without_a_name_is_anonymous_and_pruned(mc):
    import json
    anon = mc.ok("volume", "create").strip()
    named = mc.ok("volume", "create", "--label", "team=net", "keepme").strip()
    info = {v["Name"]: v for v in json.loads(mc.ok("volume", "inspect", anon, named))}
    assert "com.docker.volume.anonymous" in info[anon]["Labels"] and info[named]["Labels"] == {"team": "net"}
    pruned = mc.ok("volume", "prune", "-f")
    assert anon in pruned and named not in pruned
    assert mc.ok("volume", "ls", "-q").split() == [named]
    mc.ok("volume", "rm", named)


def test_tmpfs_flag_mounts_a_tmpfs_with_dockers_defaults(mc):
    import json
    out = mc.ok("run", "--rm", "--tmpfs", "/scratch:size=1m,mode=0700", "--tmpfs", "/run/x", "busybox", "sh", "-c",
                "grep ' /scratch \\| /run/x ' /proc/mounts; stat -c %a /scratch; df -k /scratch | tail -1")
    lines = out.splitlines()
    scratch = next(line for line in lines if " /scratch " in line).split()[3].split(",")
    assert {"nosuid", "nodev", "noexec", "size=1024k", "mode=700"} <= set(scratch)  # Docker's noexec,nosuid,nodev
    assert any(" /run/x tmpfs " in line for line in lines) and "700" in lines
    assert lines[-1].split()[1] == "1024"
    cid = mc.ok("create", "--tmpfs", "/t:ro,exec", "busybox", "true").strip()
    info = json.loads(mc.ok("inspect", cid))[0]
    assert info["HostConfig"]["Tmpfs"] == {"/t": "ro,exec"} and info["Mounts"] == []
    mc.ok("rm", cid)


def test_volume_create_options_bind_a_device_or_mount_a_tmpfs(mc, tmp_path):
    """The local driver's -o: type=none,o=bind,device=PATH is that directory; type=tmpfs a tmpfs
    of the size asked. Removing the volume leaves the device's files alone."""
    device = tmp_path / "device"
    device.mkdir()
    (device / "kept").write_text("from the device\n")
    mc.ok("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={device}", "bound")
    mc.ok("volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m", "scratch")
    out = mc.ok("run", "--rm", "--net", "none", "-v", "bound:/b", "-v", "scratch:/t", "busybox", "sh", "-c",
                "cat /b/kept; echo written > /b/new; grep ' /t ' /proc/mounts")
    lines = out.splitlines()
    assert lines[0] == "from the device" and lines[1].split()[:3] == ["tmpfs", "/t", "tmpfs"]
    assert "size=2048k" in lines[1]
    assert (device / "new").read_text() == "written\n"
    ro = mc("run", "--rm", "--net", "none", "-v", "bound:/b:ro", "busybox", "touch", "/b/nope")
    assert ro.returncode != 0 and "Read-only file system" in ro.stderr
    info = json.loads(mc.ok("volume", "inspect", "scratch"))[0]
    assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}
    mc.ok("volume", "rm", "bound", "scratch")
    assert sorted(os.listdir(device)) == ["kept", "new"]


@pytest.mark.parametrize("options, message", [
    (["-o", "foo=1"], 'create bad: invalid option: "foo"'),
    (["-o", "type=tmpfs"], 'create bad: missing required option: "device"'),
    (["-o", "o=size=1m", "-o", "device=tmpfs"], 'create bad: missing required option: "type"'),
    (["-o", "size=1g"], "create bad: size quota requested for volume but no quota support"),
    (["-d", "nfs"], 'create bad: error looking up volume plugin nfs: plugin "nfs" not found'),
])
def test_bad_volume_options_are_refused(mc, options, message):
    out = mc("volume", "create", *options, "bad")
    assert out.returncode == 1 and out.stderr.strip() == f"Error response from daemon: {message}"
    assert "bad" not in mc.ok("volume", "ls", "-q").split()
