"""ps --filter and network ls --filter, with Docker's keys and refusals."""

import random


def _names(out: str) -> list[str]:
    return sorted(line.split()[-1] for line in out.splitlines()[1:])


def testps_filters(mc):
    net = f"10.{random.randrange(150, 199)}.{random.randrange(1, 250)}"
    mc.ok("network", "create", "--subnet", f"{net}.0/24", "labnet")
    mc.ok("volume", "create", "fvol")
    mc.ok("run", "-d", "--name", "web1", "--network", "labnet", "-v", "fvol:/data", "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "web2", "busybox", "sleep", "300")
    assert mc("run", "--name", "done3", "--network", "none", "busybox", "sh", "-c", "exit 3").returncode == 3
    assert _names(mc.ok("ps", "-f", "name=web")) == ["web1", "web2"]
    assert _names(mc.ok("ps", "-f", "network=labnet")) == ["web1"]
    assert _names(mc.ok("ps", "-f", "volume=fvol")) == ["web1"]
    assert _names(mc.ok("ps", "-f", "status=exited")) == ["done3"]  # a status filter looks at all
    assert _names(mc.ok("ps", "-a", "-f", "exited=3")) == ["done3"]
    assert _names(mc.ok("ps", "-a", "-f", "ancestor=busybox", "-f", "name=done")) == ["done3"]
    assert _names(mc.ok("ps", "-f", "name=web1", "-f", "name=web2")) == ["web1", "web2"]  # same key: either
    assert _names(mc.ok("ps", "-f", "name=web", "-f", "network=labnet")) == ["web1"]  # different keys: both
    bad = mc("ps", "-f", "colour=red")
    assert bad.returncode == 1 and bad.stderr.strip().endswith("invalid filter 'colour'")
    assert mc("ps", "-f", "name").returncode == 125
    mc.ok("rm", "-f", "web1", "web2", "done3")
    mc.ok("volume", "rm", "fvol")
    mc.ok("network", "rm", "labnet")


def test_network_ls_filters(mc):
    mc.ok("network", "create", "--label", "team=red", "redlab")
    mc.ok("network", "create", "bluelab")

    def rows(*filters: str) -> list[str]:
        return sorted(line.split()[1] for line in mc.ok("network", "ls", *filters).splitlines()[1:])
    assert rows("-f", "type=custom") == ["bluelab", "redlab"]
    assert rows("-f", "type=builtin") == ["bridge", "host", "none"]
    assert rows("-f", "label=team=red") == ["redlab"] and rows("-f", "label=team") == ["redlab"]
    assert rows("-f", "name=lab", "-f", "driver=bridge") == ["bluelab", "redlab"]
    assert rows("-f", "driver=null") == ["none"]
    bad = mc("network", "ls", "-f", "colour=red")
    assert bad.returncode == 1 and "invalid filter 'colour'" in bad.stderr
    mc.ok("network", "rm", "redlab", "bluelab")


def test_format_table_json_and_templates(mc):
    import json
    mc.ok("volume", "create", "--label", "k=v", "keep")
    mc.ok("volume", "create", "spare")
    mc.ok("run", "-d", "--name", "fmt1", "--network", "none", "-v", "keep:/data", "busybox", "sleep", "300")
    assert mc.ok("ps", "--format", "{{.Names}} {{.State}} {{.Networks}} {{.LocalVolumes}}") == "fmt1 running none 1\n"
    table = mc.ok("ps", "--format", "table {{.Names}}\\t{{.Image}}").splitlines()
    assert table[0].split() == ["NAMES", "IMAGE"] and table[1].split() == ["fmt1", "busybox"]
    assert table[1].index("busybox") == table[0].index("IMAGE")  # columns aligned
    row = json.loads(mc.ok("ps", "--format", "json"))
    assert row["Names"] == "fmt1" and row["Status"].startswith("Up") and row["Mounts"] == "keep"
    assert mc.ok("ps") == mc.ok("ps", "--format", "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}"
                                             "\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}")  # the default is that table
    assert mc.ok("network", "ls", "--format", "{{.Name}}:{{.Driver}}", "-f", "type=builtin").split() == \
        ["bridge:bridge", "host:host", "none:null"]
    assert mc.ok("volume", "ls", "-f", "dangling=true", "--format", "{{.Name}}") == "spare\n"
    assert mc.ok("volume", "ls", "-f", "label=k=v", "-q") == "keep\n"
    assert mc.ok("volume", "inspect", "-f", "{{.Name}} {{.Labels.k}}", "keep") == "keep v\n"
    mc.ok("rm", "-f", "fmt1")
    mc.ok("volume", "rm", "keep", "spare")


def test_network_rm_force_ignores_a_missing_network(mc):
    mc.ok("network", "create", "gone-soon")
    out = mc("network", "rm", "-f", "nosuchnet", "gone-soon")
    assert out.returncode == 0 and out.stdout == "gone-soon\n" and out.stderr == ""
    missing = mc("network", "rm", "nosuchnet")
    assert missing.returncode == 1 and "network nosuchnet not found" in missing.stderr
