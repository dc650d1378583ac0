"""`minicontainer tour --yes` runs the whole lesson on a fresh state root and leaves nothing behind."""

import os
import re
import subprocess

import psutil

from tests.conftest import MC


def test_tour_runs_end_to_end_and_leaves_nothing(mc):
    proc = subprocess.run(MC.argv() + ["tour", "--yes"], env=mc.env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    tour_root = re.search(r"its own state root \((\S+)\)", out).group(1)
    # each step really happened: files crossed both ways, the volume, the modes, the published page
    for expected in ["a note from the host", "written inside the container", "made in a container",
                     "Read-only file system", f"inet {mc.net}.0.2/16", f"ip link add {mc.bridge} type bridge",
                     "-j DNAT --to-destination", "served from a container through 127.0.0.1:",
                     "unshare --pid --mount --uts --ipc --fork", f"master {mc.bridge}"]:
        assert expected in out, expected
    none_step = out.split("── 4/8")[1].split("── 5/8")[0]
    assert "lo:" in none_step and "eth0" not in none_step  # only a loopback in --net none
    # the bridge step shows a running container's veth pair, each end naming the other's index
    bridge_step = out.split("── 6/8")[1].split("── 7/8")[0]
    inside = re.search(r"^(\d+): eth0@if(\d+):", bridge_step, re.M)
    outside = re.search(r"^(\d+): (veth\w+)@if(\d+):.* master " + mc.bridge, bridge_step, re.M)
    assert inside and outside, bridge_step
    assert inside.group(2) == outside.group(1) and outside.group(3) == inside.group(1)
    assert "container tour-net" in bridge_step and "(no container attached)" not in bridge_step
    # the packet step: a request from the tour's other machine, DNATed, traced and in conntrack
    packet_step = out.split("── 8/8")[1].split("── cleaning up")[0]
    assert "served from a container" in packet_step and "packet 1: tcp " in packet_step
    assert "# ours: container tour-pkt: 0.0.0.0:" in packet_step and " dnat to " in packet_step
    assert re.search(r"^tour-pkt +tcp +\S+ +\S+ -> \S+ arrives as ", packet_step, re.M), packet_step
    lan = re.search(r"the network namespace (mctl\w+)", packet_step).group(1)
    assert not os.path.exists(f"/run/netns/{lan}")  # its other machine went too
    # and it cleaned up after itself (the mc fixture checks the bridge and rules too)
    assert not os.path.exists(tour_root)
    assert not os.path.exists(f"/sys/class/net/{mc.bridge}")
    left = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get("MINICONTAINER_ROOT") == tour_root:
                left.append(p.pid)
        except psutil.Error:
            pass
    assert not left
