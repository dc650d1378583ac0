from minicontainer.kernel.netdev import LinkUp
from minicontainer.network.modes import namespace_kinds
from minicontainer.plan import Plan, Step
from minicontainer.runtime.container_plan import container_plan
from minicontainer.runtime.etcfiles import hosts


class Record(Step):
    def __init__(self, log, name, fail=False):
        self.log, self.name, self.fail = log, name, fail

    def do(self):
        if self.fail:
            raise OSError("boom")
        self.log.append(f"do {self.name}")

    def undo(self):
        self.log.append(f"undo {self.name}")

    def explain(self):
        return f"echo {self.name}"


def test_failed_plan_undoes_applied_steps_in_reverse():
    log = []
    plan = Plan([Record(log, "a"), Record(log, "b"), Record(log, "c", fail=True)])
    try:
        plan.apply()
    except OSError:
        pass
    assert log == ["do a", "do b", "undo b", "undo a"]


def test_container_plan_explains_itself_in_libcontainer_order():
    plan = container_plan(lower=["/img"], upper="/c/upper", work="/c/work", merged="/c/merged",
                          etc_files={"/etc/hosts": "/c/hosts"}, hostname="abc", private_net=True)
    cmds = [line for line in plan.explain() if not line.startswith("#")]
    assert cmds[0] == "ip link set lo up"
    assert cmds[1] == "mount --make-rprivate /"
    assert cmds[2] == "mount -t overlay overlay -o lowerdir=/img,upperdir=/c/upper,workdir=/c/work /c/merged"
    assert "mkdir -p /c/merged/proc && mount -t proc -o nosuid,nodev,noexec proc /c/merged/proc" in cmds
    assert "mkdir -p /c/merged/sys && mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /c/merged/sys" in cmds
    hosts = "mkdir -p /c/merged/etc && : >> /c/merged/etc/hosts && mount --rbind /c/hosts /c/merged/etc/hosts"
    assert hosts in cmds  # the target is created first, as the runtime's safepath does
    pivot = cmds.index("cd /c/merged && pivot_root . . && umount -l . && cd /")
    assert cmds.index(hosts) < pivot < cmds.index("hostname abc")
    lines = plan.explain()
    overlay = lines.index(cmds[2])
    assert lines[overlay - 1] == "# the container's root: image read-only below, its own writable layer on top"


def test_host_network_keeps_host_netns():
    assert "net" not in namespace_kinds("host") and "net" in namespace_kinds("none")
    plan = container_plan(lower=["/i"], upper="/u", work="/w", merged="/m", etc_files={}, hostname="h",
                          private_net=False)
    assert not any(isinstance(s, LinkUp) for s in plan.steps)


def test_etc_files():
    assert hosts(["172.17.0.2"], "92abdbf53f12").endswith("ff02::2\tip6-allrouters\n172.17.0.2\t92abdbf53f12\n")
    assert hosts(["10.0.0.2"], "web", "example.org", [("db", "10.0.0.3")]).endswith(
        "10.0.0.3\tdb\n10.0.0.2\tweb.example.org web\n")  # extra lines first, then the FQDN and the short name
