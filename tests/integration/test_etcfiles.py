"""A container's /etc/hostname, /etc/hosts and /etc/resolv.conf in Docker's edge cases: an FQDN
hostname, the user's own mount over one of them, and a container sharing another's network
(it sees that container's files, as Docker bind-mounts the same ones)."""

import json
import subprocess


def test_an_fqdn_hostname_names_itself_and_its_short_name(mc):
    mc.ok("run", "-d", "--name", "fq", "--hostname", "foobar.example.com", "busybox", "sleep", "300")
    ip = json.loads(mc.ok("inspect", "fq"))[0]["NetworkSettings"]["IPAddress"]
    assert mc.ok("exec", "fq", "cat", "/etc/hosts").endswith(f"{ip}\tfoobar.example.com foobar\n")
    assert mc.ok("exec", "fq", "hostname") == "foobar.example.com\n"
    mc.ok("rm", "-f", "fq")


def test_the_users_mount_over_an_etc_file_wins(mc, tmp_path):
    hosts, resolv = tmp_path / "hosts", tmp_path / "resolv.conf"
    hosts.write_text("127.0.0.1\tlocalhost\n10.9.8.7\tmine\n")
    resolv.write_text("nameserver 10.9.8.1\n")
    proc = mc("run", "--rm", "-v", f"{hosts}:/etc/hosts:ro", "-v", f"{resolv}:/etc/resolv.conf",
              "busybox", "sh", "-c", "cat /etc/hosts /etc/resolv.conf; echo x >> /etc/hosts || echo read-only")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "127.0.0.1\tlocalhost\n10.9.8.7\tmine\nnameserver 10.9.8.1\nread-only\n"
    assert hosts.read_text() == "127.0.0.1\tlocalhost\n10.9.8.7\tmine\n"


def test_a_container_on_anothers_network_sees_its_etc_files(mc):
    mc.ok("run", "-d", "--name", "owner", "--hostname", "shared", "--add-host", "db:10.1.2.3",
          "busybox", "sleep", "300")
    mc.ok("run", "-d", "--name", "side", "--network", "container:owner", "busybox", "sleep", "300")
    for path in ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname"):
        assert mc.ok("exec", "side", "cat", path) == mc.ok("exec", "owner", "cat", path), path
    assert mc.ok("exec", "side", "hostname") == "shared\n"
    side, owner = (json.loads(mc.ok("inspect", n))[0] for n in ("side", "owner"))
    assert side["Config"]["Hostname"] == "shared" and side["HostsPath"] == owner["HostsPath"]
    mc.ok("rm", "-f", "side", "owner")


def test_identical_mounts_fold_into_one_and_any_network_name_works(mc, tmp_path):
    (tmp_path / "f").write_text("same\n")
    proc = mc("run", "--rm", "-v", f"{tmp_path}:/vol1", "-v", f"{tmp_path}:/vol1", "busybox", "cat", "/vol1/f")
    assert proc.returncode == 0 and proc.stdout == "same\n", proc.stderr
    mc.ok("network", "create", "name@#$")  # Docker takes any name (moby#21401)
    mc.ok("run", "-d", "--name", "odd", "--network", "name@#$", "busybox", "sleep", "300")
    assert json.loads(mc.ok("inspect", "odd"))[0]["NetworkSettings"]["Networks"]["name@#$"]["IPAddress"]
    rm = mc("rm", "-f", "--explain", "odd")
    assert rm.returncode == 0, rm.stderr
    assert f"rm -f '{mc.root}/networks/name@#$/leases/" in rm.stderr  # quoted for the shell
    assert subprocess.run(["sh", "-n"], input=rm.stderr, text=True).returncode == 0
    mc.ok("network", "rm", "name@#$")
