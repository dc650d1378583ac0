"""`cp` against real containers: round trips, Docker's placement table and messages, running and
stopped containers, volumes, and confinement against a container that plants symlinks."""

import io
import os
import stat
import subprocess
import tarfile

import pytest


@pytest.fixture
def ctr(mc):
    """A running container (no network: cp does not need one)."""
    mc.ok("run", "-d", "--net", "none", "--name", "box", "busybox", "sleep", "600")
    return "box"


def _sh(mc, *script):
    return mc.ok("exec", "box", "sh", "-c", " ".join(script))


def _tree(tmp_path):
    """A source tree with the awkward parts: spaces, unicode, a symlink, a hard link, odd modes, an owner."""
    src = tmp_path / "src tree ü"
    (src / "sub dir").mkdir(parents=True)
    (src / "sub dir" / "naïve file.txt").write_text("unicode name\n")
    (src / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(src / "run.sh", 0o4755)
    os.symlink("sub dir/naïve file.txt", src / "link")
    os.link(src / "run.sh", src / "hard")
    (src / "owned").write_text("owned\n")
    os.chown(src / "owned", 1234, 2345)
    os.utime(src / "owned", (1_000_000_000, 1_000_000_000))
    return src


def test_round_trip_of_a_tree_both_ways(mc, ctr, tmp_path):
    src = _tree(tmp_path)
    mc.ok("cp", str(src), "box:/tmp/")
    listing = _sh(mc, "cd '/tmp/src tree ü' && stat -c '%n %a %u:%g %h %Y' run.sh hard owned && readlink link"
                      " && cat 'sub dir/naïve file.txt'")
    lines = listing.splitlines()
    assert lines[0].startswith("run.sh 4755 0:0 2") and lines[1].startswith("hard 4755 0:0 2")  # mode, hard link
    assert lines[2] == "owned 644 1234:2345 1 1000000000"   # owner kept into the container (tar headers), mtime kept
    assert lines[3:] == ["sub dir/naïve file.txt", "unicode name"]
    back = tmp_path / "back"
    mc.ok("cp", "box:/tmp/src tree ü", str(back))   # dir -> missing: created with the contents
    assert (back / "sub dir" / "naïve file.txt").read_text() == "unicode name\n"
    assert os.readlink(back / "link") == "sub dir/naïve file.txt"
    assert os.stat(back / "hard").st_ino == os.stat(back / "run.sh").st_ino
    assert stat.S_IMODE(os.stat(back / "run.sh").st_mode) == 0o4755
    owned = os.stat(back / "owned")
    assert (owned.st_uid, owned.st_gid, int(owned.st_mtime)) == (0, 0, 1_000_000_000)  # out: the invoking user's


def test_docker_placement_table(mc, ctr, tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("file\n")
    d = tmp_path / "d"
    (d / "in").mkdir(parents=True)
    (d / "in" / "x").write_text("x\n")
    _sh(mc, "mkdir /dst; echo old > /dst/existing")
    mc.ok("cp", str(f), "box:/dst/new")                # file -> missing: created
    mc.ok("cp", str(f), "box:/dst/existing")           # file -> existing file: overwritten
    mc.ok("cp", str(f), "box:/dst")                    # file -> existing dir: inside, as basename
    mc.ok("cp", str(d), "box:/dst/made")               # dir -> missing: created, contents copied
    mc.ok("cp", str(d), "box:/dst")                    # dir -> existing dir: inside, as basename
    _sh(mc, "mkdir /dst/dots")
    mc.ok("cp", f"{d}/.", "box:/dst/dots")             # dir/. -> existing dir: the contents
    assert _sh(mc, "cat /dst/new /dst/existing /dst/f.txt /dst/made/in/x /dst/d/in/x /dst/dots/in/x") == \
        "file\nfile\nfile\nx\nx\nx\n"
    for args, message in [
        ((str(f), "box:/dst/nodir/"), "no such directory"),
        ((str(d), "box:/dst/new"), "cannot copy directory"),
        ((f"{f}/", "box:/dst/"), f"lstat {f}/: not a directory"),
        (("box:/dst/new/", str(tmp_path)), "Error response from daemon: lstat /dst/new/: not a directory"),
        (("box:/nope", str(tmp_path)), "Error response from daemon: Could not find the file /nope in container box"),
        ((str(f), "box:/nope/x"), "Error response from daemon: Could not find the file /nope in container box"),
        (("box:/dst/new", f"{tmp_path}/missing/x"), f'invalid output path: directory "{tmp_path}/missing" does not exist'),
        (("nosuch:/x", str(tmp_path)), "Error response from daemon: No such container: nosuch"),
        (("box:/x", "box:/y"), "copying between containers is not supported"),
        ((str(f), str(tmp_path)), "must specify at least one container source"),
    ]:
        proc = mc("cp", *args)
        assert (proc.returncode, proc.stderr) == (1, message + "\n"), args
    assert not (tmp_path / "missing").exists()


def test_follow_link_and_symlinked_destination(mc, ctr, tmp_path):
    _sh(mc, "echo target > /tmp/t; ln -s /tmp/t /tmp/abs; ln -s t /tmp/rel; mkdir /tmp/dir; ln -s /tmp/dir /tmp/dirlink")
    mc.ok("cp", "box:/tmp/abs", str(tmp_path / "nofollow"))
    assert os.readlink(tmp_path / "nofollow") == "/tmp/t"  # the link itself
    mc.ok("cp", "-L", "box:/tmp/rel", str(tmp_path))        # its target, under the link's name
    assert (tmp_path / "rel").read_text() == "target\n" and not (tmp_path / "rel").is_symlink()
    (tmp_path / "f").write_text("via link\n")
    mc.ok("cp", str(tmp_path / "f"), "box:/tmp/dirlink")    # a symlinked DEST is followed (inside the container)
    assert _sh(mc, "cat /tmp/dir/f") == "via link\n"


def test_tar_streams_on_stdin_and_stdout(mc, ctr, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [("a/b.txt", b"bee\n"), ("top.txt", b"top\n")]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            tar.addfile(info, io.BytesIO(data))
    _sh(mc, "mkdir /in")
    mc.ok("cp", "-", "box:/in", input=buf.getvalue())
    assert _sh(mc, "cat /in/a/b.txt /in/top.txt; stat -c %a /in/top.txt") == "bee\ntop\n640\n"
    out = mc("cp", "box:/in", "-", input=b"")
    names = tarfile.open(fileobj=io.BytesIO(out.stdout)).getnames()
    assert names == ["in", "in/a", "in/a/b.txt", "in/top.txt"]
    proc = mc("cp", "-", "box:/in/top.txt", input=buf.getvalue())
    assert (proc.returncode, proc.stderr) == (1, b'destination "box:/in/top.txt" must be a directory\n')
    # an archive entry that climbs out of the destination is refused (go-archive's breakout error)
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        info = tarfile.TarInfo("../escaped")
        tar.addfile(info, io.BytesIO(b""))
    proc = mc("cp", "-", "box:/in", input=evil.getvalue())
    assert proc.returncode == 1 and b'"../escaped" is outside of "/in"' in proc.stderr
    assert _sh(mc, "ls /escaped 2>&1; true").strip().endswith("No such file or directory")


def test_stopped_container_and_volumes(mc, tmp_path):
    host_dir = tmp_path / "bind"
    host_dir.mkdir()
    mc.ok("run", "--net", "none", "--name", "gone", "-v", "vol:/vol", "-v", f"{host_dir}:/ro:ro", "busybox",
          "sh", "-c", "echo written > /etc/by-ctr; echo in-volume > /vol/v")
    (tmp_path / "n.txt").write_text("new\n")
    mc.ok("cp", "gone:/etc/by-ctr", str(tmp_path / "out"))        # from the stopped container's upper layer
    assert (tmp_path / "out").read_text() == "written\n"
    mc.ok("cp", "gone:/vol/v", str(tmp_path / "v"))               # its volume is mounted for the copy
    assert (tmp_path / "v").read_text() == "in-volume\n"
    mc.ok("cp", str(tmp_path / "n.txt"), "gone:/vol/")             # a write lands in the volume itself
    vol = os.path.join(mc.root, "volumes", "vol", "_data")
    assert open(os.path.join(vol, "n.txt")).read() == "new\n"
    proc = mc("cp", str(tmp_path / "n.txt"), "gone:/ro/")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: mounted volume is marked read-only\n")
    assert os.listdir(host_dir) == []
    mc.ok("cp", str(tmp_path / "n.txt"), "gone:/etc/")
    # the helper's mounts died with it: nothing of this container is mounted on the host
    with open("/proc/self/mountinfo") as f:
        assert mc.root not in f.read()
    mc.ok("rm", "gone")
    mc.ok("volume", "rm", "vol")


def test_running_container_copy_sees_its_mounts(mc, tmp_path):
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    mc.ok("run", "-d", "--net", "none", "--name", "box", "-v", f"{host_dir}:/shared", "-v", f"{tmp_path}:/ro:ro",
          "busybox", "sleep", "600")
    (tmp_path / "f").write_text("through the mount\n")
    mc.ok("cp", str(tmp_path / "f"), "box:/shared/")
    assert (host_dir / "f").read_text() == "through the mount\n"
    proc = mc("cp", str(tmp_path / "f"), "box:/ro/new")
    assert (proc.returncode, proc.stderr) == (1, "Error response from daemon: mounted volume is marked read-only\n")
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------------------------- confinement
@pytest.fixture
def host_secret(tmp_path):
    """A host directory with a secret in it; the container's links point at this exact host path."""
    secret_dir = tmp_path / "host-only"
    secret_dir.mkdir()
    (secret_dir / "secret").write_text("HOST SECRET\n")
    return secret_dir


def _assert_host_untouched(secret_dir):
    assert sorted(os.listdir(secret_dir)) == ["secret"]
    assert (secret_dir / "secret").read_text() == "HOST SECRET\n"


def test_planted_symlinks_resolve_inside_the_container(mc, ctr, tmp_path, host_secret):
    depth = "../" * 12
    _sh(mc, f"mkdir -p /plant; ln -s {host_secret}/secret /plant/abs; ln -s {depth}{str(host_secret)[1:]}/secret /plant/rel;"
            f" ln -s {host_secret} /plant/pdir; ln -s / /plant/root")
    out = tmp_path / "out"
    out.mkdir()
    for src in ["/plant/abs", "/plant/rel", "/plant/pdir/secret", "/plant/root" + str(host_secret) + "/secret"]:
        proc = mc("cp", "-L", f"box:{src}", str(out))
        assert proc.returncode == 1 and "Could not find the file" in proc.stderr, src
    assert os.listdir(out) == []
    # writes through the same links: they land in the container (or fail), never on the host
    (tmp_path / "payload").write_text("payload\n")
    for dst in ["/plant/abs", "/plant/pdir/", "/plant/root" + str(host_secret) + "/x"]:
        mc("cp", str(tmp_path / "payload"), f"box:{dst}")
    _assert_host_untouched(host_secret)
    # the container sees the write at ITS path of that name (it made the parent dirs to prove it)
    _sh(mc, f"mkdir -p {host_secret}")
    mc.ok("cp", str(tmp_path / "payload"), "box:/plant/pdir/")
    assert _sh(mc, f"cat {host_secret}/payload") == "payload\n"
    _assert_host_untouched(host_secret)
    # a tar on stdin cannot use the planted links either
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("pdir/viatar")
        tar.addfile(info, io.BytesIO(b""))
    mc.ok("cp", "-", "box:/plant", input=buf.getvalue())
    assert _sh(mc, f"ls {host_secret}") == "payload\nviatar\n"
    _assert_host_untouched(host_secret)


def test_stopped_container_links_resolve_inside_too(mc, tmp_path, host_secret):
    mc.ok("run", "--net", "none", "--name", "gone", "busybox", "sh", "-c",
          f"ln -s {host_secret} /pdir; ln -s {host_secret}/secret /abs")
    proc = mc("cp", "-L", "gone:/abs", str(tmp_path / "o"))
    assert proc.returncode == 1 and "Could not find the file /abs" in proc.stderr
    proc = mc("cp", "gone:/pdir/secret", str(tmp_path / "o"))
    assert proc.returncode == 1 and not (tmp_path / "o").exists()
    mc("cp", str(host_secret / "secret"), "gone:/pdir/written")
    _assert_host_untouched(host_secret)


def test_links_swapped_during_the_copy(mc, ctr, tmp_path, host_secret):
    """The container flips /race/dir between a real directory and a symlink to the host directory as
    fast as it can while we copy through it both ways: each copy may fail, none may touch the host."""
    _sh(mc, "mkdir -p /race/real && echo inside > /race/real/secret")
    racer = mc.popen("exec", "box", "sh", "-c", f"while :; do mv /race/real /race/dir; mv /race/dir /race/real; "
                     f"ln -s {host_secret} /race/dir; rm /race/dir; done",
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (tmp_path / "payload").write_text("payload\n")
    results = []
    try:
        for i in range(15):
            out = tmp_path / f"out{i}"
            proc = mc("cp", "box:/race/dir/secret", str(out))
            results.append(proc.returncode)
            if out.exists():
                assert out.read_text() == "inside\n"
            mc("cp", str(tmp_path / "payload"), "box:/race/dir/planted")
            tree = tmp_path / f"tree{i}"
            mc("cp", "box:/race", str(tree))
            for dirpath, _, files in os.walk(tree):
                for name in files:
                    assert "HOST SECRET" not in open(os.path.join(dirpath, name), errors="replace").read()
            _assert_host_untouched(host_secret)
    finally:
        racer.kill()
        racer.wait()
    _assert_host_untouched(host_secret)


@pytest.mark.parametrize("link", ["/tmp/nowhere", "nowhere"])  # absolute and relative dangling links
@pytest.mark.parametrize("running", [True, False])
def test_copy_to_a_dangling_link_with_a_trailing_slash_is_no_such_directory(mc, tmp_path, link, running):
    src = tmp_path / "f"
    src.write_text("x\n")
    mc.ok("create", "--name", "dl", "--network", "none", "busybox", "sleep", "300")
    mc.ok("start", "dl")
    mc.ok("exec", "dl", "sh", "-c", f"mkdir -p /tmp/d2 && ln -s {link} /tmp/d2/x")
    if not running:
        mc.ok("stop", "-t", "0", "dl")
    proc = mc("cp", str(src), "dl:/tmp/d2/x/")
    assert proc.returncode == 1 and proc.stderr.strip().endswith("no such directory"), proc.stderr
    if not running:
        mc.ok("start", "dl")
    assert mc.ok("exec", "dl", "sh", "-c", "ls -a /tmp /tmp/d2; test ! -e /tmp/nowhere && test ! -e /tmp/d2/nowhere && echo none") \
        .endswith("none\n")  # nothing was created
    mc.ok("rm", "-f", "dl")


def test_cp_archive_mode_gives_the_files_to_the_containers_user(mc, tmp_path):
    """`cp -a` into a container with a Config.User: every entry belongs to that user (its uid and
    gid from the container's /etc/passwd), running or stopped; without -a the sources' owners stay."""
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("x\n")
    for path in (src, src / "sub", src / "sub" / "f"):
        os.chown(path, 123, 456)
    mc.ok("run", "-d", "--name", "owned", "-u", "nobody", "--net", "none", "busybox", "sleep", "60")
    mc.ok("cp", "-a", str(src), "owned:/tmp/a")
    mc.ok("cp", str(src), "owned:/tmp/b")
    owners = mc.ok("exec", "owned", "sh", "-c", "stat -c '%n %u:%g' /tmp/a /tmp/a/sub/f /tmp/b /tmp/b/sub/f")
    assert owners.split("\n")[:4] == ["/tmp/a 65534:65534", "/tmp/a/sub/f 65534:65534", "/tmp/b 123:456",
                                      "/tmp/b/sub/f 123:456"]
    mc.ok("stop", "-t", "0", "owned")
    mc.ok("cp", "-a", str(src / "sub" / "f"), "owned:/tmp/c")
    mc.ok("start", "owned")
    assert mc.ok("exec", "owned", "stat", "-c", "%u:%g", "/tmp/c").strip() == "65534:65534"
    mc.ok("rm", "-f", "owned")
    mc.ok("create", "--name", "ghostly", "-u", "ghost", "busybox", "true")
    out = mc("cp", "-a", str(src), "ghostly:/tmp/d")
    assert out.returncode == 1 and out.stderr.strip() == (
        "Error response from daemon: unable to find user ghost: no matching entries in passwd file")
