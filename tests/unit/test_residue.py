from collections import Counter

from minicontainer import residue


def _snap(mounts):
    return {"mounts": Counter(mounts)}


def test_the_once_per_boot_netns_mount_may_appear_but_not_vanish():
    """`ip netns add` (and pyroute2) bind-mount /run/netns on itself the first time in a boot: on a
    fresh machine the first test that makes a namespace must not be blamed for it."""
    fresh, after = _snap([]), _snap(["/run/netns ext4 /dev/vda"])
    assert residue.difference(fresh, after) == []
    assert residue.difference(after, fresh) == ["- mounts: /run/netns ext4 /dev/vda"]
    # a namespace's own mount below it is still a leak
    assert residue.difference(after, _snap(["/run/netns ext4 /dev/vda", "/run/netns/abc nsfs nsfs"])) == \
        ["+ mounts: /run/netns/abc nsfs nsfs"]
