"""What a piece of work left on the host: take a snapshot of the kernel objects and state records
minicontainer could create, do the work, take another, compare.

    before = residue.snapshot(roots=[root])
    ...
    assert not residue.difference(before, residue.snapshot(roots=[root]))

A snapshot is a dict of categories (links, addresses, routes, netns, iptables-legacy, ip6tables-legacy,
iptables-nft, nftables, mounts, cgroups, processes, state), each a Counter of normalised lines: counters, lifetimes and
timestamps are dropped, so traffic and time alone never make two snapshots differ. The project's test
suite takes one before and after every test (tests/conftest.py); `scripts/soak` after a whole run.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import Counter

# Changes we make on purpose and leave, as dockerd does (docs/differences-from-docker.md): the first
# bridge network turns on forwarding and sets FORWARD's policy to DROP (in the backend of our rules).
PERSISTENT = [re.compile(r"^iptables-(legacy|nft): filter :FORWARD (ACCEPT|DROP)$"),
              re.compile(r"^nftables: table ip filter / chain FORWARD / type filter hook forward priority filter; "
                         r"policy (accept|drop);$")]
# Made once per boot and never taken away, so they may appear but never disappear:
# - /run/netns bind-mounted on itself and made shared, by whatever first makes a named network
#   namespace (`ip netns add`, pyroute2's netns.create), so the namespaces bound below it show in
#   every mount namespace;
# - an iptables table with its built-in chains, which the kernel (legacy) or iptables-nft creates
#   the first time a table is used and nobody removes (Docker leaves them too): on a Debian 12
#   host that is our first rule.
_BUILTIN = r"(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)"
APPEARS_ONCE = [re.compile(r"^mounts: /run/netns \S+ \S+$"),
                re.compile(rf"^ip6?tables-(legacy|nft): \w+ :{_BUILTIN} (ACCEPT|DROP)$"),
                re.compile(r"^nftables: table ip (filter|nat)$"),
                re.compile(rf"^nftables: table ip (filter|nat) / chain {_BUILTIN}$"),
                re.compile(rf"^nftables: table ip (filter|nat) / chain {_BUILTIN} / type (filter|nat) hook \w+ "
                           r"priority [\w-]+; policy accept;$")]

_COUNTERS = re.compile(r" \[\d+:\d+\]$")
_NFT_COUNTERS = re.compile(r"counter packets \d+ bytes \d+")
_NFT_EXPIRES = re.compile(r" expires \S+")


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except FileNotFoundError:
        return ""


def iptables_lines(save_cmd: str) -> Counter:
    """`iptables-save` output as "table line" entries, without comments and packet counters."""
    out, table = Counter(), "?"
    for line in _run([save_cmd]).splitlines():
        if line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        out[f"{table} {_COUNTERS.sub('', line)}"] += 1
    return out


def nft_lines() -> Counter:
    """`nft list ruleset`, each line prefixed by the table and chain it is in (a set would merge
    identical rules of different chains otherwise)."""
    out, where = Counter(), []
    for raw in _run(["nft", "list", "ruleset"]).splitlines():
        line = _NFT_EXPIRES.sub("", _NFT_COUNTERS.sub("counter", raw.strip()))
        if not line:
            continue
        if line == "}":
            if where:
                where.pop()
            continue
        if line.endswith("{"):
            where.append(line[:-1].strip())
            out[" / ".join(where)] += 1
            continue
        out[" / ".join(where + [line])] += 1
    return out


def network_lines() -> dict[str, Counter]:
    """Links, addresses and routes (every table) of the host's network namespace, over netlink."""
    from pyroute2 import IPRoute
    links, addrs, routes = Counter(), Counter(), Counter()
    with IPRoute() as ipr:
        names = {}
        for link in ipr.get_links():
            names[link["index"]] = link.get_attr("IFLA_IFNAME")
            links[f"{names[link['index']]} master={link.get_attr('IFLA_MASTER') or 0}"] += 1
        # masters by name, not index: a re-created bridge gets a new index but is the same thing
        links = Counter({re.sub(r"master=(\d+)", lambda m: f"master={names.get(int(m.group(1)), 0)}", k): v
                         for k, v in links.items()})
        for a in ipr.get_addr():
            if _kernel_made(a.get_attr("IFA_ADDRESS")):
                continue
            addrs[f"{names.get(a['index'], a['index'])} {a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"] += 1
        for r in ipr.route("dump"):
            dst = r.get_attr("RTA_DST") or "default"
            if _kernel_made(dst):
                continue
            table = r.get_attr("RTA_TABLE") or r["table"]
            oif = names.get(r.get_attr("RTA_OIF"), r.get_attr("RTA_OIF"))
            routes[f"family={r['family']} table={table} {dst}/{r['dst_len']} dev={oif} "
                   f"via={r.get_attr('RTA_GATEWAY') or '-'}"] += 1
    return {"links": links, "addresses": addrs, "routes": routes}


def _kernel_made(address: str) -> bool:
    """IPv6 link-local and multicast entries: the kernel adds them to any link once it has carrier
    (a bridge gets its first port), so they come and go with links, which are compared themselves."""
    return address.startswith(("fe80:", "ff00:", "ff02:"))


def mount_lines() -> Counter:
    """Mount points with their filesystem type and source (ids and options change on remounts)."""
    out = Counter()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            out[f"{fields[4]} {fields[sep + 1]} {fields[sep + 2]}"] += 1
    return out


def _process_lines(marker: str | None) -> Counter:
    """Processes that are ours to answer for: in another pid namespace than ours (a container), or
    carrying MINICONTAINER_ROOT or `marker` (an environment entry the work's processes inherit)."""
    import psutil
    me, own_ns = os.getpid(), os.stat("/proc/self/ns/pid").st_ino
    out = Counter()
    for proc in psutil.process_iter(["pid", "ppid", "cmdline", "status", "create_time"]):
        info = proc.info
        if info["pid"] in (me, 2) or info["ppid"] == 2 or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            foreign = os.stat(f"/proc/{info['pid']}/ns/pid").st_ino != own_ns
            env = proc.environ() if not foreign else {}
        except (psutil.Error, OSError):
            continue
        if foreign or "MINICONTAINER_ROOT" in env or (marker and marker in env):
            out[f"{info['pid']}@{info['create_time']:.2f} {' '.join(info['cmdline'] or [])}"] += 1
    return out


def cgroup_lines() -> Counter:
    """The cgroup directories below every hierarchy's top-level minicontainer* directories (the
    default parent, and the --cgroup-parent the tests use), three levels deep."""
    out = Counter()
    mounts = set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] in (["cgroup"], ["cgroup2"]):
                mounts.add(left.split()[4])
    for mount in sorted(mounts):
        for top in sorted(os.listdir(mount)):
            if not top.startswith("minicontainer"):
                continue
            for dirpath, dirnames, _files in os.walk(os.path.join(mount, top)):
                rel = os.path.relpath(dirpath, mount)
                out[f"{mount} {rel}"] += 1
                if rel.count("/") >= 2:
                    dirnames.clear()
    return out


def state_lines(roots: list[str]) -> Counter:
    """Records a state root holds for things that exist: containers, names, volumes, address
    leases, networks other than the default, half-written files. Images are a cache, left out."""
    out = Counter()
    for root in roots:
        for sub in ("containers", "names", "volumes", "tmp"):
            path = os.path.join(root, sub)
            for entry in sorted(os.listdir(path)) if os.path.isdir(path) else []:
                if not entry.endswith(".lock") and entry != "lock":
                    out[f"{root}: {sub}/{entry}"] += 1
        networks = os.path.join(root, "networks")
        for net in sorted(os.listdir(networks)) if os.path.isdir(networks) else []:
            if net.endswith(".lock"):
                continue
            if net != "bridge":
                out[f"{root}: network {net}"] += 1
            leases = os.path.join(networks, net, "leases")
            for lease in sorted(os.listdir(leases)) if os.path.isdir(leases) else []:
                if lease != "lock":
                    out[f"{root}: lease {net} {lease}"] += 1
    return out


def snapshot(roots: list[str] = (), marker: str | None = None) -> dict[str, Counter]:
    snap = network_lines()
    snap["netns"] = Counter(os.listdir("/run/netns") if os.path.isdir("/run/netns") else [])
    snap["iptables-legacy"] = iptables_lines("iptables-legacy-save")
    snap["ip6tables-legacy"] = iptables_lines("ip6tables-legacy-save")
    snap["iptables-nft"] = iptables_lines("iptables-nft-save")
    snap["nftables"] = nft_lines()
    snap["mounts"] = mount_lines()
    snap["cgroups"] = cgroup_lines()
    snap["processes"] = _process_lines(marker)
    snap["state"] = state_lines(list(roots))
    return snap


def difference(before: dict[str, Counter], after: dict[str, Counter], allow=()) -> list[str]:
    """Lines that appeared (+) or disappeared (-), minus the persistent changes and `allow` (regexes
    a test gives for differences it means to make)."""
    keep = PERSISTENT + [re.compile(a) for a in allow]
    out = []
    for category in sorted(set(before) | set(after)):
        b, a = before.get(category, Counter()), after.get(category, Counter())
        for sign, lines in (("+", a - b), ("-", b - a)):
            for line in sorted(lines):
                entry = f"{category}: {line}"
                kept = keep + (APPEARS_ONCE if sign == "+" else [])
                if not any(k.search(entry) for k in kept):
                    out.append(f"{sign} {entry}")
    return out


def settled_difference(before: dict[str, Counter], take, allow=(), settle: float = 5.0) -> list[str]:
    """difference() against take(), retried for up to `settle` seconds: detached supervisors finish
    their teardown a moment after `rm` returns."""
    deadline = time.monotonic() + settle
    while (diff := difference(before, take(), allow)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return diff
