"""`pull` and `run` of registry images, against a real docker-registry on 127.0.0.1 filled by the tests."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

import pytest

from tests.integration.registrykit import Layer, Registry, busybox_layer, compress, sha

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"), reason="needs Debian's docker-registry")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def base(registry):
    """The bottom layer every test image shares."""
    return busybox_layer().bytes()


def _layer_dirs(mc) -> list[str]:
    d = os.path.join(mc.root, "images", "layers")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def _tmp_entries(mc) -> list[str]:
    return os.listdir(os.path.join(mc.root, "tmp"))


def test_three_layer_image_with_deletions_and_config(mc, registry, base):
    # Layer 2 adds files and a directory; layer 3 deletes one file (.wh.) and makes /data opaque,
    # adding one new file there: only that file may be visible in /data.
    two = (Layer().dir("data").file("data/old1", b"1").file("data/old2", b"2").file("etc/motd", b"hello\n")
           .file("etc/gone", b"x").dir("srv").file("srv/tool", b"#!/bin/sh\necho tool \"$@\"\n", 0o4755)
           .file("srv/owned", b"o", uid=1000, gid=50).chardev("srv/null", 1, 3).bytes())
    three = Layer().file("etc/.wh.gone", b"").dir("data").file("data/.wh..wh..opq", b"").file("data/new", b"n").bytes()
    config = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo \"$GREETING from $(pwd) as $(id -un) home=$HOME\""],
              "Env": ["PATH=/bin", "GREETING=hi"], "WorkingDir": "/srv", "User": "app"}
    repo = f"{registry.host}/lesson/three"
    registry.push_image("lesson/three", "v1", [base, two, three], config)

    out = mc("pull", f"{repo}:v1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "v1: Pulling from lesson/three"
    assert sum(line.endswith(": Pull complete") for line in lines) == 3
    assert lines[-3].startswith("Digest: sha256:") and lines[-2] == f"Status: Downloaded newer image for {repo}:v1"
    assert lines[-1] == f"{repo}:v1"
    assert "\x1b[" not in out.stdout  # no progress bars when not on a terminal

    assert mc.ok("run", "--rm", "--net", "none", f"{repo}:v1") == "hi from /srv as app home=/home/app\n"
    listing = mc.ok("run", "--rm", "--net", "none", "-u", "0", "--entrypoint", "/bin/sh", f"{repo}:v1", "-c",
                    "ls /data; test -e /etc/gone || echo gone-is-gone; cat /etc/motd; stat -c %a /srv/tool; "
                    "stat -c '%u:%g' /srv/owned; stat -c '%F %t,%T' /srv/null")
    assert listing == "new\ngone-is-gone\nhello\n4755\n1000:50\ncharacter special file 1,3\n"
    # The overlay form of the whiteouts, on disk in the top layer.
    top = json.loads(mc.ok("image", "inspect", f"{repo}:v1"))[0]
    assert top["Config"]["WorkingDir"] == "/srv" and top["RootFS"]["Layers"][0] == sha(base)
    top_dir = top["GraphDriver"]["Data"]["LowerDir"].split(":")[0]
    st = os.lstat(os.path.join(top_dir, "etc/gone"))
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (0, 0) and st.st_mode & 0o170000 == 0o020000
    assert os.getxattr(os.path.join(top_dir, "data"), "trusted.overlay.opaque") == b"y"
    assert not os.path.exists(os.path.join(top_dir, "data/.wh..wh..opq"))
    mc.ok("rmi", f"{repo}:v1")
    assert _layer_dirs(mc) == []


def test_layers_are_shared_and_removed_with_the_last_image(mc, registry, base):
    registry.push_image("share/a", "1", [base, Layer().file("a", b"a").bytes()], {"Cmd": ["/bin/cat", "/a"]})
    registry.push_image("share/b", "1", [base, Layer().file("b", b"b").bytes()], {"Cmd": ["/bin/cat", "/b"]})
    mc.ok("pull", f"{registry.host}/share/a:1")
    out = mc.ok("pull", f"{registry.host}/share/b:1")
    assert out.count("Already exists") == 1 and out.count("Pull complete") == 1
    assert len(_layer_dirs(mc)) == 3
    assert mc.ok("run", "--rm", "--net", "none", f"{registry.host}/share/b:1") == "b"
    images = mc.ok("images").splitlines()
    assert sorted(line.split()[:2] for line in images[1:]) == [[f"{registry.host}/share/a", "1"], [f"{registry.host}/share/b", "1"]]
    again = mc.ok("pull", f"{registry.host}/share/a:1")
    assert f"Status: Image is up to date for {registry.host}/share/a:1" in again
    mc.ok("rmi", f"{registry.host}/share/a:1")
    assert len(_layer_dirs(mc)) == 2  # the shared base stays for b
    mc.ok("rmi", f"{registry.host}/share/b:1")
    assert _layer_dirs(mc) == []


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_multi_platform_index_picks_this_machine(mc, registry, base, kind):
    import platform
    here = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
    other = "arm64" if here == "amd64" else "amd64"
    repo = f"multi/{kind}"
    mine = registry.push_image(repo, None, [base, Layer().file("which", here.encode()).bytes()],
                               {"Cmd": ["/bin/cat", "/which"]}, kind=kind, arch=here)
    theirs = registry.push_image(repo, None, [base, Layer().file("which", other.encode()).bytes()],
                                 {"Cmd": ["/bin/cat", "/which"]}, kind=kind, arch=other)
    entries = [({"os": "linux", "architecture": other, **({"variant": "v8"} if other == "arm64" else {})}, theirs[0], theirs[1]),
               ({"os": "unknown", "architecture": "unknown"}, theirs[0], theirs[1]),  # buildkit attestation entry
               ({"os": "linux", "architecture": here}, mine[0], mine[1])]
    index_digest = registry.push_index(repo, "latest", entries, kind=kind)
    assert mc.ok("run", "--rm", "--net", "none", f"{registry.host}/{repo}") == here
    info = json.loads(mc.ok("image", "inspect", f"{registry.host}/{repo}"))[0]
    assert info["Id"] == mine[2] and info["Architecture"] == here
    assert info["RepoDigests"] == [f"{registry.host}/{repo}@{index_digest}"]
    # --platform picks another entry; one that is not there is an error.
    mc.ok("pull", "--platform", f"linux/{other}", f"{registry.host}/{repo}")
    assert json.loads(mc.ok("image", "inspect", f"{registry.host}/{repo}"))[0]["Id"] == theirs[2]
    proc = mc("pull", "--platform", "linux/s390x", f"{registry.host}/{repo}")
    assert proc.returncode == 125 and "no matching manifest for linux/s390x in the manifest list entries" in proc.stderr


@pytest.mark.parametrize("compression", ["zstd", "tar"])
def test_pull_by_digest_zstd_and_plain_tar_layers(mc, registry, base, compression):
    digest, _, config_digest = registry.push_image(f"{compression}/app", "1", [base, Layer().file("z", b"layer!").bytes()],
                                                   {"Cmd": ["/bin/cat", "/z"]}, compression=compression)
    ref = f"{registry.host}/{compression}/app@{digest}"
    out = mc.ok("pull", ref)
    assert out.splitlines()[-1] == ref
    assert mc.ok("run", "--rm", "--net", "none", ref) == "layer!"
    assert json.loads(mc.ok("image", "inspect", ref))[0]["Id"] == config_digest


def test_corrupted_blob_is_rejected_and_nothing_is_left(mc, registry, base):
    good = Layer().file("payload", b"A" * 4096).bytes()
    registry.push_image("bad/blob", "1", [base, good], {"Cmd": ["/bin/cat", "/payload"]})
    digest = sha(compress(good, "gzip"))
    path = registry.blob_file(digest)
    original = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(original[:-8] + b"garbage!")
    try:
        proc = mc("pull", f"{registry.host}/bad/blob:1")
        assert proc.returncode == 125
        assert f"filesystem layer verification failed for digest {digest}" in proc.stderr
        assert proc.stderr.count("\n") == 1
        assert mc.ok("images", "-q") == "" and _layer_dirs(mc) == [] and _tmp_entries(mc) == []
    finally:
        with open(path, "wb") as f:
            f.write(original)


@pytest.mark.parametrize("evil,message", [
    (lambda: Layer().file("../../escaped-by-layer", b"x"), "it would land outside the layer"),
    (lambda: Layer().file("/abs-escape", b"x"), "absolute path"),
    (lambda: Layer().symlink("etc", "{victim}").file("etc/planted", b"x"), "it would be written through the symlink 'etc'"),
    (lambda: Layer().symlink("up", "../../../..{victim}").file("up/planted", b"x"), "through the symlink 'up'"),
    (lambda: Layer().hardlink("h", "{victim}/host-file"), "absolute path"),
])
def test_malicious_layers_are_refused_and_the_host_is_untouched(mc, registry, base, tmp_path, evil, message):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "host-file").write_text("host")
    layer = evil()
    # Patch the victim path into symlink/hardlink targets now that we know it.
    for info in layer.tar.members:
        info.linkname = info.linkname.replace("{victim}", str(victim))
    data = _rebuild(layer)
    import re
    repo = "evil/" + re.sub(r"[^a-z]+", "-", message.lower()).strip("-")
    registry.push_image(repo, "1", [base, data])
    proc = mc("pull", f"{registry.host}/{repo}:1")
    assert proc.returncode == 125 and message in proc.stderr, proc.stderr
    assert sorted(os.listdir(victim)) == ["host-file"] and (victim / "host-file").read_text() == "host"
    assert not os.path.exists(tmp_path / "escaped-by-layer") and not os.path.exists("/abs-escape")
    assert mc.ok("images", "-q") == "" and _layer_dirs(mc) == []


def _rebuild(layer: Layer) -> bytes:
    import io
    import tarfile
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info in layer.tar.members:
            t.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return out.getvalue()


def test_unknown_repository_and_tag(mc, registry, base):
    proc = mc("pull", f"{registry.host}/no/such-repo")
    assert proc.returncode == 125
    assert proc.stderr.strip() == (f"Error response from daemon: manifest for {registry.host}/no/such-repo:latest not found: "
                                   "manifest unknown: manifest unknown") or "repository name not known" in proc.stderr
    registry.push_image("known/repo", "1", [base])
    proc = mc("pull", f"{registry.host}/known/repo:nosuchtag")
    assert proc.returncode == 125
    assert proc.stderr.strip() == (f"Error response from daemon: manifest for {registry.host}/known/repo:nosuchtag "
                                   "not found: manifest unknown: manifest unknown")
    proc = mc("run", "--rm", f"{registry.host}/known/repo:nosuchtag")
    assert proc.returncode == 125
    assert proc.stderr.startswith(f"Unable to find image '{registry.host}/known/repo:nosuchtag' locally\n")
    # Nothing listens on this port: the error names the request and the reason.
    proc = mc("pull", "127.0.0.1:9/x")
    assert proc.returncode == 125 and 'Get "http://127.0.0.1:9/v2/x/manifests/latest"' in proc.stderr
    assert "Connection refused" in proc.stderr
    assert mc.ok("images", "-q") == ""


def test_run_pulls_and_publishes_exposed_ports(mc, registry, base):
    web = Layer().dir("www").file("www/index.html", b"from a pulled image\n").bytes()
    registry.push_image("web/site", "1", [base, web], {"Cmd": ["httpd", "-f", "-p", "80", "-h", "/www"],
                                                      "ExposedPorts": {"80/tcp": {}}, "Env": ["PATH=/bin"]})
    ref = f"{registry.host}/web/site:1"
    proc = mc("run", "-d", "-P", "--name", "site", ref)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(f"Unable to find image '{ref}' locally\n1: Pulling from web/site\n")
    port = mc.ok("port", "site", "80").splitlines()[0].rsplit(":", 1)[1]
    body = None
    for _ in range(50):
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            break
        except OSError:
            import time
            time.sleep(0.1)
    assert body == b"from a pulled image\n"
    proc = mc("rmi", ref)
    assert proc.returncode == 1 and "is using its referenced image" in proc.stderr
    mc.ok("rm", "-f", "site")
    mc.ok("rmi", ref)


def test_progress_on_a_terminal(mc, registry, base):
    import pty
    registry.push_image("tty/app", "1", [base, Layer().file("x", b"x" * 300000).bytes()])
    master, slave = pty.openpty()
    proc = subprocess.Popen([*mc.argv(), "pull", f"{registry.host}/tty/app:1"], stdout=slave, stderr=slave, env=mc.env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(30) == 0
    os.close(master)
    text = b"".join(chunks).decode()
    assert "Pulling fs layer" in text and "\x1b[" in text and "Pull complete" in text
    assert "Downloading [" in text or "Extracting" in text


def _skopeo(*args: str) -> None:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not os.path.exists("/usr/bin/skopeo"), reason="needs skopeo")
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_load_docker_save_and_oci_archives(mc, registry, base, tmp_path, transport):
    registry.push_image("arch/app", "1", [base, Layer().file("hello", b"loaded\n").bytes()], {"Cmd": ["/bin/cat", "/hello"]})
    archive = tmp_path / "image.tar"
    _skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/arch/app:1", f"{transport}:{archive}:arch/app:1")
    out = mc.ok("load", "-i", str(archive))
    assert out == "Loaded image: arch/app:1\n"
    assert mc.ok("run", "--rm", "--net", "none", "arch/app:1") == "loaded\n"
    # From stdin too, and loading the same image again changes nothing.
    with open(archive, "rb") as f:
        assert mc.ok("load", input=f.read()) == b"Loaded image: arch/app:1\n"
    assert len(mc.ok("images", "-q").split()) == 1
    proc = mc("load", "-i", str(tmp_path / "missing.tar"))
    assert proc.returncode == 1 and proc.stderr.strip() == f"open {tmp_path}/missing.tar: no such file or directory"


@pytest.mark.skipif(not os.path.exists("/usr/bin/umoci"), reason="needs umoci")
@pytest.mark.parametrize("fmt", ["oci", "v2s2"])
def test_image_built_by_umoci_and_pushed_by_skopeo(mc, registry, tmp_path, fmt):
    """Images made by other tools: umoci writes the layers (its own whiteouts for a deleted file),
    skopeo pushes them as OCI or converts them to Docker's media types (v2s2)."""
    layout, bundle = tmp_path / "layout", tmp_path / "bundle"

    def umoci(*args):
        proc = subprocess.run(["umoci", *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr

    umoci("init", "--layout", str(layout))
    umoci("new", "--image", f"{layout}:bb")
    umoci("unpack", "--image", f"{layout}:bb", str(bundle))
    rootfs = bundle / "rootfs"
    (rootfs / "bin").mkdir()
    subprocess.run(["cp", "/bin/busybox", str(rootfs / "bin/busybox")], check=True)
    for applet in ("sh", "ls", "cat"):
        os.symlink("busybox", rootfs / "bin" / applet)
    (rootfs / "etc").mkdir()
    (rootfs / "etc/doomed").write_text("x")
    (rootfs / "etc/kept").write_text("kept\n")
    umoci("repack", "--image", f"{layout}:bb", str(bundle))
    (rootfs / "etc/doomed").unlink()
    umoci("repack", "--image", f"{layout}:bb", str(bundle))
    umoci("config", "--image", f"{layout}:bb", "--config.cmd", "/bin/sh", "--config.cmd", "-c",
          "--config.cmd", "test -e /etc/doomed || echo doomed-is-gone; cat /etc/kept", "--architecture", _goarch(), "--os", "linux")
    dest = f"docker://{registry.host}/umoci/{fmt}:1"
    _skopeo("copy", "--dest-tls-verify=false", *(["--format", "v2s2"] if fmt == "v2s2" else []), f"oci:{layout}:bb", dest)
    assert mc.ok("run", "--rm", "--net", "none", f"{registry.host}/umoci/{fmt}:1") == "doomed-is-gone\nkept\n"


def _goarch() -> str:
    import platform
    return {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]


def test_repull_leaves_a_dangling_image_that_prune_removes(mc, registry, base):
    registry.push_image("prune/app", "1", [base, Layer().file("v", b"one").bytes()], {"Cmd": ["/bin/cat", "/v"]})
    mc.ok("pull", f"{registry.host}/prune/app:1")
    old = json.loads(mc.ok("image", "inspect", f"{registry.host}/prune/app:1"))[0]
    registry.push_image("prune/app", "1", [base, Layer().file("v", b"two").bytes()], {"Cmd": ["/bin/cat", "/v"]})
    mc.ok("pull", f"{registry.host}/prune/app:1")
    rows = [line.split() for line in mc.ok("images").splitlines()[1:]]
    assert sorted(r[:3] for r in rows) == sorted([[f"{registry.host}/prune/app", "1", mc.ok("images", "-q").split()[0]],
                                                  ["<none>", "<none>", old["Id"][7:19]]])
    assert mc.ok("run", "--rm", "--net", "none", f"{registry.host}/prune/app:1") == "two"
    out = mc.ok("image", "prune", "-f")
    assert out.startswith(f"Deleted Images:\nuntagged: {old['RepoDigests'][0]}\ndeleted: {old['Id']}\n")
    assert f"deleted: {old['RootFS']['Layers'][1]}\n" in out and "Total reclaimed space: " in out
    assert len(mc.ok("images", "-q").split()) == 1 and len(_layer_dirs(mc)) == 2
    assert mc.ok("image", "prune", "-f") == "Total reclaimed space: 0B\n"
    mc.ok("image", "prune", "-a", "-f")
    assert mc.ok("images", "-q") == "" and _layer_dirs(mc) == []


def test_image_volumes_become_anonymous_volumes(mc, registry, base):
    """VOLUME /data in the image (as redis has): an anonymous volume, filled from the image."""
    # /data is spread over two layers, the top one deleting a file of the lower: the volume must get
    # the merged view (what overlayfs shows), not one layer's directory.
    registry.push_image("vol/app", "1", [base, Layer().dir("data").file("data/seed", b"from the image\n")
                                         .file("data/old", b"old").bytes(),
                                         Layer().dir("data").file("data/.wh.old", b"").file("data/top", b"t").bytes()],
                        {"Cmd": ["/bin/sh", "-c", "cat /data/seed; echo more >> /data/seed"], "Volumes": {"/data": {}}})
    ref = f"{registry.host}/vol/app:1"
    mc.ok("run", "--name", "withvol", "--net", "none", ref)
    info = json.loads(mc.ok("inspect", "withvol"))[0]
    assert info["Config"]["Volumes"] == {"/data": {}}
    [mount] = info["Mounts"]
    assert mount["Type"] == "volume" and mount["Destination"] == "/data" and len(mount["Name"]) == 64
    with open(os.path.join(mount["Source"], "seed")) as f:
        assert f.read() == "from the image\nmore\n"
    assert sorted(os.listdir(mount["Source"])) == ["seed", "top"]
    assert mc.ok("volume", "ls", "-q").split() == [mount["Name"]]
    # -v on the same path wins over the image's VOLUME.
    assert mc.ok("run", "--rm", "--net", "none", "-v", "named:/data", ref) == "from the image\n"
    mc.ok("rm", "-v", "withvol")
    assert mc.ok("volume", "ls", "-q").split() == ["named"]
    mc.ok("volume", "rm", "named")
