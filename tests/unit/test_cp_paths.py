"""cp's argument parsing and Docker's placement table, as pure functions."""

import pytest

from minicontainer.cp.paths import DestInfo, SourceInfo, in_container, placement, split_dir_entry
from minicontainer.errors import MCError
from minicontainer.specs.cp import parse, split_cp_arg


@pytest.mark.parametrize("arg, expected", [
    ("c1:/etc/hosts", ("c1", "/etc/hosts")),
    ("c1:etc", ("c1", "etc")),
    ("/abs:path", ("", "/abs:path")),          # absolute: always local
    ("./file:name.txt", ("", "./file:name.txt")),  # part before ':' starts with '.': local
    ("plain", ("", "plain")),
    ("c1:", ("c1", "")),
])
def test_split_cp_arg(arg, expected):
    assert split_cp_arg(arg) == expected


def test_parse_directions_and_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    req = parse("c1:/x", "out/")
    assert (req.container, req.to_container, req.container_path, req.local_path) == ("c1", False, "/x", f"{tmp_path}/out/")
    req = parse("src/.", "c1:/y")
    assert req.to_container and req.local_path == f"{tmp_path}/src/."
    assert parse("-", "c1:/d").local_path == "-"
    for src, dst, message in [("a:/x", "b:/y", "copying between containers is not supported"),
                              ("x", "y", "must specify at least one container source"),
                              ("", "c:/y", "source can not be empty"), ("c:/x", "", "destination can not be empty")]:
        with pytest.raises(MCError, match=message):
            parse(src, dst)


def test_container_paths_are_cleaned_inside_root():
    assert in_container("etc/../../..//hosts") == "/hosts"
    assert in_container("tmp/") == "/tmp/" and in_container("tmp/.") == "/tmp/."
    assert split_dir_entry("/a/b/") == ("/a", "b") and split_dir_entry("/a/b/.") == ("/a/b", ".")


F, D = False, True


@pytest.mark.parametrize("src, src_dir, dst, exists, dst_dir, expected", [
    ("/s/file", F, "/d/new", F, F, ("/d", "new")),          # file -> missing: created
    ("/s/file", F, "/d/old", True, F, ("/d", "old")),       # file -> existing file: overwritten
    ("/s/file", F, "/d/dir", True, D, ("/d/dir", "file")),  # file -> existing dir: inside
    ("/s/dir", D, "/d/new", F, F, ("/d", "new")),           # dir -> missing: created with the contents
    ("/s/dir", D, "/d/new/", F, F, ("/d", "new")),
    ("/s/dir", D, "/d/dir", True, D, ("/d/dir", "dir")),    # dir -> existing dir: inside
    ("/s/dir/.", D, "/d/dir", True, D, ("/d/dir", ".")),    # dir/. -> existing dir: the contents
    ("/s/dir/", D, "/d/dir", True, D, ("/d/dir", "dir")),   # a trailing slash alone is not /.
])
def test_placement_table(src, src_dir, dst, exists, dst_dir, expected):
    assert placement(SourceInfo(src, src_dir), DestInfo(dst, exists, dst_dir)) == expected


def test_placement_errors_and_rebase():
    with pytest.raises(MCError, match="^no such directory$"):
        placement(SourceInfo("/s/file", False), DestInfo("/d/new/", False))
    with pytest.raises(MCError, match="^cannot copy directory$"):
        placement(SourceInfo("/s/dir", True), DestInfo("/d/file", True, False))
    # -L on /s/link -> target: the copy keeps the link's name
    assert placement(SourceInfo("/s/link", False, rebase="link"), DestInfo("/d", True, True)) == ("/d", "link")
