"""The built-in busybox image, `import`, `images`, `rmi`."""

import io
import json
import os
import tarfile

import pytest


def _tar(tmp_path, files: dict[str, bytes], extra=()) -> str:
    path = tmp_path / "rootfs.tar"
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            t.addfile(info, io.BytesIO(data))
        for info in extra:
            t.addfile(info)
    return str(path)


def test_busybox_is_built_on_first_use(mc):
    assert mc.ok("images", "-q") == ""
    assert mc.ok("run", "--rm", "busybox:latest", "sh", "-c", "id; ls -l /bin/sh | grep -c busybox") == \
        "uid=0(root) gid=0(root)\n1\n"
    lines = mc.ok("images").splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:2] == ["busybox", "latest"] and lines[1].endswith("MB")


def test_import_and_run(mc, tmp_path):
    busybox = open("/bin/busybox", "rb").read()
    link = tarfile.TarInfo("bin/sh")
    link.type, link.linkname = tarfile.SYMTYPE, "busybox"
    path = _tar(tmp_path, {"bin/busybox": busybox, "hello.txt": b"imported\n"}, [link])
    image_id = mc.ok("import", path, "mine:v1").strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    assert mc.ok("run", "--rm", "mine:v1", "/bin/busybox", "cat", "/hello.txt") == "imported\n"
    data = json.loads(mc.ok("inspect", "mine:v1"))[0]
    assert data["Id"] == image_id and data["RepoTags"] == ["mine:v1"]
    # Import from stdin too, like `docker import - name`: a new image (its config has its own creation
    # time, as Docker's has) over the same layer, stored once.
    with open(path, "rb") as f:
        assert mc.ok("import", "-", "mine:v2", input=f.read()).strip().startswith(b"sha256:")
    v2 = json.loads(mc.ok("inspect", "mine:v2"))[0]
    assert v2["RootFS"]["Layers"] == data["RootFS"]["Layers"]
    assert os.listdir(os.path.join(mc.root, "images", "layers")) == [data["RootFS"]["Layers"][0].split(":")[1]]


def test_import_refuses_escaping_entries(mc, tmp_path):
    evil = tarfile.TarInfo("../../escape.txt")
    path = _tar(tmp_path, {}, [evil])
    proc = mc("import", path, "evil:1")
    assert proc.returncode == 1 and "it would land outside the layer" in proc.stderr
    assert not os.path.exists(tmp_path / "escape.txt")
    link = tarfile.TarInfo("etc")
    link.type, link.linkname = tarfile.SYMTYPE, "/tmp"
    through = tarfile.TarInfo("etc/evil")
    proc = mc("import", _tar(tmp_path, {}, [link, through]), "evil:2")
    assert proc.returncode == 1 and "through the symlink" in proc.stderr
    assert mc.ok("images", "-q") == ""


def test_rmi_refused_while_in_use(mc):
    mc.ok("create", "--name", "user1", "busybox", "true")
    proc = mc("rmi", "busybox")
    assert proc.returncode == 1 and "must force" in proc.stderr and "is using its referenced image" in proc.stderr
    mc.ok("rm", "user1")
    out = mc.ok("rmi", "busybox")
    assert out.startswith("Untagged: busybox:latest\nDeleted: sha256:")
    assert mc.ok("images", "-q") == ""


def test_image_writes_do_not_leak_between_containers(mc):
    mc.ok("run", "--name", "aa", "busybox", "rm", "/bin/ls")
    assert mc.ok("run", "--rm", "busybox", "sh", "-c", "ls / >/dev/null && echo ls-still-there") == "ls-still-there\n"
    mc.ok("rm", "aa")


@pytest.mark.parametrize("ref", ["nosuch", "nosuch:tag"])
def test_unknown_image(mc, ref):
    proc = mc("rmi", ref)
    assert proc.returncode == 1 and "No such image" in proc.stderr
