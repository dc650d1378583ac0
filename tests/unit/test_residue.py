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


def test_a_legacy_table_appearing_with_its_built_in_chains_is_not_a_leak():
    """A fresh host whose `iptables` is iptables-nft has no legacy tables until our first rule: the
    kernel then makes the table with its built-in chains (checked in a new network namespace, which
    starts without them too), and they stay. Our own chains and rules are still leaks."""
    fresh = {"iptables-legacy": Counter()}
    used = {"iptables-legacy": Counter(["nat :PREROUTING ACCEPT", "nat :INPUT ACCEPT", "nat :OUTPUT ACCEPT",
                                        "nat :POSTROUTING ACCEPT", "filter :FORWARD DROP"])}
    assert residue.difference(fresh, used) == []
    assert residue.difference(used, fresh) == ["- iptables-legacy: nat :INPUT ACCEPT",
                                               "- iptables-legacy: nat :OUTPUT ACCEPT",
                                               "- iptables-legacy: nat :POSTROUTING ACCEPT",
                                               "- iptables-legacy: nat :PREROUTING ACCEPT"]
    ours = {"iptables-legacy": used["iptables-legacy"] + Counter(["nat :MC -", "nat -A OUTPUT -j MC"])}
    assert residue.difference(used, ours) == ["+ iptables-legacy: nat -A OUTPUT -j MC", "+ iptables-legacy: nat :MC -"]
