"""The start plan as data, built against a fake world (no root, nothing applied): what each network
mode puts in it, in which order, and that refusals come before anything is taken."""

import os

import pytest

from minicontainer.errors import DaemonError, StartError
from minicontainer.kernel import proc
from minicontainer.network.modes import mode_for
from minicontainer.network.networks import NetworkStore
from minicontainer.runtime.startplan import start_plan
from minicontainer.specs.netcreate import create_options
from minicontainer.specs.network import NetworkAttachment
from minicontainer.specs.ports import PortBinding
from minicontainer.store.containers import ContainerRecord, ContainerStore
from minicontainer.store.records import MountRecord, PublishedPort
from minicontainer.store.root import StateRoot


class FakeImages:
    def get(self, ref):
        return ref

    def lower_dirs(self, image):
        return ["/layers/a/diff"]


class FakeWorld:
    cgroups = None  # a machine without cgroups, unless a test gives a layout

    def __init__(self, root, taken=()):
        self.root = StateRoot(str(root))
        self.root.ensure()
        self.containers, self.images = ContainerStore(self.root), FakeImages()
        self.networks = NetworkStore(self.root)
        self.networks.configure_default("mcfake0", "10.250.0.0/16", "MCFAKE")
        self.leases, self.taken = [], list(taken)

    def mode(self, value):
        return mode_for(value, self.networks, self.containers)

    def lease(self, net, cid, ip=""):
        self.leases.append(cid)
        return ip or ("10.250.0.2" if net.name == "bridge" else "10.251.0.2")

    def taken_ports(self, cid):
        return self.taken

    def extra_hosts(self, rec):
        return [("db", "10.250.0.9")] if rec.host_config.get("Links") else []

    def etc_texts(self, rec, ips, extra):
        return {"hostname": "h\n", "hosts": "".join(f"{ip}\t{n}\n" for n, ip in extra + [("h", ip) for ip in ips]),
                "resolv.conf": ""}


def _record(network="bridge", networks=None, **kw):
    bridged = [] if network in ("none", "host") or network.startswith("container:") else [network]
    return ContainerRecord(id="c" * 64, name="web", created="", image_id="img", image_ref="busybox",
                           config={"Hostname": "h", "Cmd": ["true"], "Env": []},
                           host_config={"NetworkMode": network},
                           networks=[NetworkAttachment(n) for n in (networks or bridged)], **kw)


def _kinds(steps):
    return [type(s).__name__ for s in steps]


def test_bridge_with_a_port_and_a_volume(tmp_path):
    world = FakeWorld(tmp_path)
    rec = _record(port_bindings=[PortBinding("tcp", 80, "127.0.0.1", 8080)],
                  mounts=[MountRecord("bind", str(tmp_path / "src"), "/data", create_source=True)])
    plan = start_plan(world, rec)
    assert plan.namespaces == ["mnt", "uts", "ipc", "net"] and plan.joins == {}
    assert world.leases == [rec.id] and plan.endpoints[0].ip == "10.250.0.2"
    assert _kinds(plan.network)[0] == "CreateBridge" and _kinds(plan.network)[-1] in ("InstallRules", "ForwardPolicy")
    assert _kinds(plan.files) == ["MakeDirs", "WriteFile", "WriteFile", "WriteFile", "MakeDirs"]
    assert plan.files[-1].paths == [str(tmp_path / "src")]  # the missing -v source is made at start
    assert _kinds(plan.host(4242)) == ["CreateVeth", "ConfigureInterface", "BindNetns", "DefaultRoute", "PublishRules",
                                       "StartProxy"]
    assert plan.host(4242)[0].netns_pid == 4242
    inner = _kinds(plan.container)
    assert inner[0] == "LinkUp" and inner.index("BindMount") < inner.index("PivotRoot") < inner.index("SetHostname")
    plan.network = []  # their explain() would ask the kernel's tables what is missing: not a unit test's business
    phases = ["network"] + [line["phase"] for line in plan.trace_lines()]
    order = [p for i, p in enumerate(phases) if p not in phases[:i]]
    assert order == ["network", "files", "unshare", "exec", "host", "container"]


def test_none_and_host_take_nothing_and_wire_nothing(tmp_path):
    for network, namespaces in (("none", ["mnt", "uts", "ipc", "net"]), ("host", ["mnt", "uts", "ipc"])):
        world = FakeWorld(tmp_path / network)
        plan = start_plan(world, _record(network))
        assert plan.namespaces == namespaces
        assert (world.leases, plan.network, plan.endpoints, plan.host(1)) == ([], [], [], [])
        assert ("LinkUp" in _kinds(plan.container)) == (network == "none")


def test_container_mode_joins_the_targets_network_namespace(tmp_path):
    world = FakeWorld(tmp_path)
    me = os.getpid()
    target = ContainerRecord(id="t" * 64, name="target", created="", image_id="img", image_ref="busybox",
                             config={"Hostname": "t"}, host_config={"NetworkMode": "none"}, status="running",
                             pid=me, init_start=proc.start_ticks(me))
    world.containers.create(target)
    plan = start_plan(world, _record("container:" + target.id))
    assert plan.namespaces == ["mnt", "uts", "ipc"] and plan.joins == {"net": me}
    target.status = "exited"
    world.containers.save(target)
    with pytest.raises(StartError, match="cannot join network of a non running container"):
        start_plan(world, _record("container:" + target.id))


def test_a_port_conflict_is_refused_before_an_address_is_leased(tmp_path):
    world = FakeWorld(tmp_path, taken=[PublishedPort("tcp", "0.0.0.0", 8080, 80)])
    with pytest.raises(DaemonError, match="port is already allocated"):
        start_plan(world, _record(port_bindings=[PortBinding("tcp", 80, "", 8080)]))
    assert world.leases == []


def test_a_random_host_port_does_not_read_the_other_containers_ports(tmp_path):
    """-p 80 cannot clash: the start does not read every record for their ports (that grew with scale)."""
    class Counting(FakeWorld):
        asked = 0

        def taken_ports(self, cid):
            Counting.asked += 1
            return []
    world = Counting(tmp_path)
    start_plan(world, _record(port_bindings=[PortBinding("tcp", 80, "", 0)]))
    assert Counting.asked == 0
    start_plan(world, _record(port_bindings=[PortBinding("tcp", 80, "", 8080)]))
    assert Counting.asked == 1


def test_two_networks_two_veths_the_default_route_and_the_ports_on_the_one_that_sorts_first(tmp_path):
    world = FakeWorld(tmp_path)
    world.networks.create("lab", create_options(["10.251.0.0/24"]))
    rec = _record("lab", networks=["lab", "bridge"], port_bindings=[PortBinding("tcp", 80, "", 8080)])
    plan = start_plan(world, rec)
    assert [(ep.network, ep.ifname, ep.ip) for ep in plan.endpoints] == [("lab", "eth0", "10.251.0.2"),
                                                                         ("bridge", "eth1", "10.250.0.2")]
    host = plan.host(4242)
    veths = [(s.bridge, s.peer_if) for s in host if type(s).__name__ == "CreateVeth"]
    assert veths == [(world.networks.load("lab").bridge, "eth0"), ("mcfake0", "eth1")]
    route = next(s for s in host if type(s).__name__ == "DefaultRoute")
    assert (route.gateway, route.ifname) == ("10.250.0.1", "eth1")  # "bridge" sorts before "lab", as in Docker
    assert {s.container_ip for s in host if type(s).__name__ in ("PublishRules", "StartProxy")} == {"10.250.0.2"}
    assert _kinds(plan.files).count("WriteFile") == 3 and "10.251.0.2\th\n10.250.0.2\th\n" in plan.files[2].text


def test_an_internal_network_gives_no_default_route(tmp_path):
    world = FakeWorld(tmp_path)
    world.networks.create("quiet", create_options(["10.251.0.0/24"], internal=True))
    plan = start_plan(world, _record("quiet"))
    assert plan.endpoints[0].gateway == "" and "DefaultRoute" not in _kinds(plan.host(1))


def test_the_cgroup_comes_first_on_the_host_side_with_the_limits_and_devices(tmp_path):
    from minicontainer.kernel.cgroups import Layout
    world = FakeWorld(tmp_path)
    world.cgroups = Layout(1, mounts={"memory": "/cg/memory", "pids": "/cg/pids", "devices": "/cg/devices"})
    rec = _record("none")
    rec.host_config.update({"Memory": 32 << 20, "MemorySwap": -1, "PidsLimit": 9, "CpuShares": 512})
    plan = start_plan(world, rec)
    step = plan.host(4242)[0]
    assert type(step).__name__ == "MakeCgroup"
    # the child moves itself in (a v1 `tasks` file) before anything else it does
    assert type(plan.container[0]).__name__ == "EnterCgroup"
    assert plan.container[0].files == [d + "/tasks" for d in step.dirs]
    assert step.dirs == ["/cg/devices/minicontainer/" + rec.id, "/cg/memory/minicontainer/" + rec.id,
                         "/cg/pids/minicontainer/" + rec.id]
    # no cpu hierarchy here: --cpu-shares has nowhere to go (create warned of it)
    assert step.writes[:3] == [["memory", "memory.limit_in_bytes", str(32 << 20)], ["pids", "pids.max", "9"],
                               ["devices", "devices.deny", "a"]]
