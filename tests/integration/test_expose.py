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
