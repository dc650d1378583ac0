"""`conntrack`: the kernel's tracked flows of our containers, with what NAT made of each, checked
against real traffic between a client namespace and a container (published port in, MASQUERADE out)."""

import random

from tests.integration.nethelp import HTTPD, curl


def test_a_published_port_and_a_masqueraded_ping_as_conntrack_sees_them(br, outside_client):
    ns, host_side = outside_client
    client = host_side.rsplit(".", 1)[0] + "." + str(int(host_side.rsplit(".", 1)[1]) + 1)
    port = random.randrange(20000, 30000)
    br.ok("run", "-d", "--name", "ct", "-p", f"{port}:80", "busybox", "sh", "-c", HTTPD.format(name="ct"))
    br.ok("run", "-d", "--name", "quiet", "busybox", "sleep", "300")
    ip = br.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "ct").strip()
    assert curl(f"http://{host_side}:{port}/", netns=ns) == "hello-ct\n"
    assert br.ok("exec", "ct", "ping", "-c", "1", "-W", "2", client).count("bytes from") == 1
    rows = [line.split(None, 3) for line in br.ok("conntrack", "ct").splitlines()]
    assert rows[0] == ["CONTAINER", "PROTO", "STATE", "FLOW"]
    inbound = [r for r in rows if r[1] == "tcp" and f"-> {host_side}:{port} arrives as {ip}:80" in r[3]]
    assert inbound and inbound[0][0] == "ct" and inbound[0][3].startswith(f"{client}:")  # the DNAT, spelled out
    assert ["ct", "icmp", "-", f"{ip} -> {client} leaves as {host_side}"] in rows  # MASQUERADE to the host's address
    nat = br.ok("conntrack", "--nat").splitlines()[1:]
    assert nat and all(" arrives as " in line or " leaves as " in line for line in nat)
    quiet = br.ok("conntrack", "quiet").splitlines()  # (a stale flow of an earlier holder of its address may show)
    assert quiet[0].split() == ["CONTAINER", "PROTO", "STATE", "FLOW"] and not [r for r in quiet if client in r]
    out = br("conntrack", "nosuch")
    assert out.returncode == 1 and out.stderr.strip() == "Error response from daemon: No such container: nosuch"
    br.ok("rm", "-f", "ct", "quiet")
