"""--expose: ports (and ranges) in Config.ExposedPorts, published by -P as the image's are."""

import json


def test_expose_adds_exposed_ports_that_publish_all_publishes(mc):
    mc.ok("run", "-d", "--name", "ex", "--expose", "7000", "--expose", "7100-7101/udp", "-P", "busybox", "sleep", "300")
    info = json.loads(mc.ok("inspect", "ex"))[0]
    assert set(info["Config"]["ExposedPorts"]) == {"7000/tcp", "7100/udp", "7101/udp"}
    ports = mc.ok("port", "ex")
    for key in ("7000/tcp -> 0.0.0.0:", "7100/udp -> 0.0.0.0:", "7101/udp -> 0.0.0.0:"):
        assert key in ports, ports
    mc.ok("rm", "-f", "ex")
    created = json.loads(mc.ok("inspect", mc.ok("create", "--expose", "9000", "busybox", "true").strip()))[0]
    assert created["Config"]["ExposedPorts"] == {"9000/tcp": {}}
    assert not created["HostConfig"]["PortBindings"]  # exposed is not published
    mc.ok("rm", created["Id"])


def test_a_host_range_for_one_port_gives_each_container_a_free_port_of_it(mc):
    import random

    from tests.integration.nethelp import HTTPD, curl
    low = random.randrange(20000, 30000)
    spec = f"{low}-{low + 2}:80"
    for n in range(3):
        mc.ok("run", "-d", "--name", f"r{n}", "-p", spec, "busybox", "sh", "-c", HTTPD.format(name=f"r{n}"))
    assert [mc.ok("port", f"r{n}", "80").split(":")[-1].strip() for n in range(3)] == [str(low + n) for n in range(3)]
    assert [curl(f"http://127.0.0.1:{low + n}/") for n in range(3)] == [f"hello-r{n}\n" for n in range(3)]
    full = mc("run", "-d", "--name", "r3", "-p", spec, "busybox", "true")
    assert full.returncode == 125 and f"Bind for 0.0.0.0:{low}-{low + 2} failed: port is already allocated" in full.stderr
    binding = json.loads(mc.ok("inspect", "r0"))[0]["HostConfig"]["PortBindings"]["80/tcp"]
    assert binding == [{"HostIp": "", "HostPort": f"{low}-{low + 2}"}]
    mc.ok("rm", "-f", "r0", "r1", "r2", "r3")
