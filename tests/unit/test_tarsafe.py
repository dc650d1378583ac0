import tarfile

import pytest

from minicontainer.images.tarsafe import UnsafeArchive, check_members


def member(name, kind=tarfile.REGTYPE, link=""):
    m = tarfile.TarInfo(name)
    m.type, m.linkname = kind, link
    return m


def test_normal_entries_pass_and_are_normalized():
    ok = check_members([member("./"), member("./bin"), member("./bin/sh", tarfile.SYMTYPE, "/bin/busybox"),
                        member(".hidden"), member("usr/bin/x", tarfile.LNKTYPE, "./bin/busybox")])
    assert [m.name for m in ok] == ["bin", "bin/sh", ".hidden", "usr/bin/x"]
    assert ok[-1].linkname == "bin/busybox"


@pytest.mark.parametrize("members", [
    [member("/etc/passwd")],
    [member("../x")],
    [member("a/../../x")],
    [member("lnk", tarfile.SYMTYPE, "/etc"), member("lnk/passwd")],
    [member("h", tarfile.LNKTYPE, "/etc/shadow")],
    [member("h", tarfile.LNKTYPE, "../outside")],
    [member("s", tarfile.SYMTYPE, "/etc/shadow"), member("h", tarfile.LNKTYPE, "s")],
])
def test_escapes_are_refused(members):
    with pytest.raises(UnsafeArchive):
        check_members(members)
