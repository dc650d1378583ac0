import os

import pytest

from minicontainer.kernel.safepath import UnsafePath, open_dir, open_file


def test_creates_inside_root(tmp_path):
    fd = open_dir(str(tmp_path), "/a/b/c")
    os.close(fd)
    assert (tmp_path / "a/b/c").is_dir()
    fd = open_file(str(tmp_path), "/etc/hosts")
    os.close(fd)
    assert (tmp_path / "etc/hosts").is_file()


def test_symlinks_never_lead_out(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "etc").symlink_to(outside)            # absolute link, as an image could ship it
    (root / "rel").symlink_to("../outside")
    for rel in ("/etc/hosts", "/rel/hosts"):
        with pytest.raises(UnsafePath):
            open_file(str(root), rel)
    with pytest.raises(UnsafePath):
        open_dir(str(root), "/etc/sub")
    (root / "f").symlink_to(outside / "target")
    with pytest.raises(UnsafePath):
        open_file(str(root), "/f")
    assert os.listdir(outside) == []
    with pytest.raises(UnsafePath):
        open_dir(str(root), "/../x")
