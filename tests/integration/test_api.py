"""The Python API (`import minicontainer`) drives real containers: traffic flows, files arrive,
errors are the CLI's, and leaving a `with` block really takes the kernel objects away."""

import json
import os
import subprocess
import sys
import urllib.request

import psutil
import pytest

import minicontainer
from minicontainer.sandbox import leftovers, pid_namespaces, sandbox

HTTPD = "mkdir -p /www && echo hello-from-{name} > /www/index.html && exec httpd -f -p 80 -h /www"


def cli(client, *args):
    """The CLI on the same state root, to show both see (and print) the same thing."""
    return subprocess.run([sys.executable, "-m", "minicontainer", *args], capture_output=True, text=True,
                          env={**os.environ, "MINICONTAINER_ROOT": client.root})


def test_published_port_from_host_and_from_an_outside_namespace(mc_sandbox, mc_outside):
    with mc_sandbox.run("busybox", ["sh", "-c", HTTPD.format(name="api")], ports=["80"], name="web") as web:
        web.wait_listening(80)
        port = web.host_port(80)
        assert {ip for ip, _ in web.ports()["80/tcp"]} == {"0.0.0.0", "::"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
            assert reply.read() == b"hello-from-api\n"
        status, body = mc_outside.http_get(f"http://{mc_outside.host_address}:{port}/")
        assert (status, body) == (200, b"hello-from-api\n")
        # the outside request went through PREROUTING's DNAT rule: its counter moved
        nat = subprocess.run(["iptables", "-t", "nat", "-L", mc_sandbox.isolation.chain_prefix, "-v", "-n", "-x"],
                             capture_output=True, text=True).stdout
        dnat = [line for line in nat.splitlines() if f"dpt:{port}" in line]
        assert dnat and int(dnat[0].split()[0]) >= 1, nat
        veth_count = _veths_on(mc_sandbox.isolation.bridge)
        assert veth_count == 1
    # leaving the block removed the container, its veth and its proxies
    assert mc_sandbox.containers(all=True) == []
    assert _veths_on(mc_sandbox.isolation.bridge) == 0
    assert not [p for p in psutil.process_iter(["cmdline"]) if f"-host-port {port} " in " ".join(p.info["cmdline"] or [])]


def _veths_on(bridge: str) -> int:
    path = f"/sys/class/net/{bridge}/brif"
    return len(os.listdir(path)) if os.path.isdir(path) else 0


def test_exec_captures_output_and_exit_codes(mc_sandbox):
    with mc_sandbox.run("busybox", "sleep 60", hostname="api-box") as box:
        result = box.exec(["sh", "-c", "hostname; echo oops >&2; exit 3"], env=["X=1"])
        assert (result.exit_code, result.stdout, result.stderr) == (3, "api-box\n", "oops\n")
        assert box.exec("sh -c 'echo $X'", env=["X=42"]).stdout == "42\n"
        missing = box.exec("no-such-program")
        assert missing.exit_code == 127 and "executable file not found" in missing.stderr
        assert box.exec("pwd", workdir="/tmp").stdout == "/tmp\n"
        assert box.status == "running" and box.pid > 0


def test_copy_in_and_out_and_symlinks_resolve_inside(mc_sandbox, tmp_path):
    (tmp_path / "note.txt").write_text("from the host\n")
    with mc_sandbox.run("busybox", "sleep 60") as box:
        box.copy_to(str(tmp_path / "note.txt"), "/tmp/")
        assert box.exec("cat /tmp/note.txt").stdout == "from the host\n"
        box.exec("sh -c 'echo made inside > /tmp/out.txt; ln -s /etc/hostname /tmp/link'")
        box.copy_from("/tmp/out.txt", str(tmp_path / "out.txt"))
        assert (tmp_path / "out.txt").read_text() == "made inside\n"
        # the link's target is the container's /etc/hostname, never the host's
        box.copy_from("/tmp/link", str(tmp_path / "linked"), follow_link=True)
        assert (tmp_path / "linked").read_text() == box.short_id + "\n"


def test_read_only_bind_and_named_volume(mc_sandbox, tmp_path):
    (tmp_path / "data.txt").write_text("shared\n")
    name = mc_sandbox.create_volume("apidata")
    with mc_sandbox.run("busybox", "sleep 60", volumes=[f"{tmp_path}:/src:ro", f"{name}:/data"]) as box:
        assert box.exec("cat /src/data.txt").stdout == "shared\n"
        denied = box.exec("sh -c 'echo x > /src/new'")
        assert denied.exit_code != 0 and "Read-only file system" in denied.stderr
        assert box.exec("sh -c 'echo kept > /data/kept.txt'").ok
    assert not (tmp_path / "new").exists()
    with open(os.path.join(mc_sandbox.volume_path(name), "kept.txt")) as f:
        assert f.read() == "kept\n"  # a named volume outlives its container
    mc_sandbox.remove_volume(name)


def test_private_network_talks_inside_and_is_isolated(mc_sandbox):
    with mc_sandbox.create_network("lab") as lab:
        with mc_sandbox.run("busybox", ["sh", "-c", HTTPD.format(name="peer")], network="lab") as server, \
                mc_sandbox.run("busybox", "sleep 60", network="lab") as client, \
                mc_sandbox.run("busybox", "sleep 60") as stranger:
            server.wait_listening(80)
            assert client.exec(["wget", "-qO-", f"http://{server.ip}/"]).stdout == "hello-from-peer\n"
            assert stranger.exec(["ping", "-c1", "-W1", server.ip]).exit_code != 0  # another bridge: dropped
            assert set(lab.inspect()["Containers"]) == {server.id, client.id}
            bridge = lab.bridge
            assert os.path.exists(f"/sys/class/net/{bridge}")
    assert not os.path.exists(f"/sys/class/net/{bridge}")
    assert [n.name for n in mc_sandbox.networks()] == ["bridge"]


def test_names_and_etc_files_through_the_api(mc_sandbox):
    with mc_sandbox.create_network("lab"):
        with mc_sandbox.run("busybox", ["sh", "-c", HTTPD.format(name="named")], network="lab", name="webby",
                            network_aliases=["www"]) as server, \
                mc_sandbox.run("busybox", "sleep 60", network="lab", dns=["10.9.9.9"], dns_options=["ndots:1"],
                               extra_hosts=["db:10.0.0.5"], domainname="example.org") as client:
            server.wait_listening(80)
            for name in ("webby", "www"):  # by name and by alias, through the embedded DNS server
                assert client.exec(["wget", "-qO-", f"http://{name}/"]).stdout == "hello-from-named\n"
            assert "10.0.0.5\tdb\n" in client.exec(["cat", "/etc/hosts"]).stdout
            assert f"\t{client.id[:12]}.example.org {client.id[:12]}\n" in client.exec(["cat", "/etc/hosts"]).stdout
            resolv = client.exec(["cat", "/etc/resolv.conf"]).stdout
            assert "nameserver 127.0.0.11\noptions ndots:1\n" in resolv and "# ExtServers: [10.9.9.9]" in resolv
            assert client.inspect()["HostConfig"]["Dns"] == ["10.9.9.9"]


def test_api_and_cli_show_the_same_container(mc_sandbox):
    with mc_sandbox.run("busybox", "sleep 60", name="shared-view", ports=["8080"]) as box:
        shown = cli(mc_sandbox, "inspect", "shared-view")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == [box.inspect()]
        assert cli(mc_sandbox, "ps", "-q").stdout.split() == [box.short_id]
        assert "ip link add" in box.explain() or "veth" in box.explain()


def test_bad_input_raises_the_cli_error_and_creates_nothing(mc_sandbox):
    with pytest.raises(minicontainer.MCError) as bad_port:
        mc_sandbox.run("busybox", "true", ports=["99999:80"])
    assert str(bad_port.value) == "invalid hostPort: 99999" and bad_port.value.exit_code == 125
    with pytest.raises(minicontainer.MCError) as no_net:
        mc_sandbox.run("busybox", "true", network="nowhere")
    assert "network nowhere not found" in str(no_net.value)
    with pytest.raises(minicontainer.NoSuchContainer):
        mc_sandbox.container("ghost")
    assert mc_sandbox.containers(all=True) == []


def test_wait_and_logs_of_a_finished_container(mc_sandbox):
    with mc_sandbox.run("busybox", ["sh", "-c", "echo out; echo err >&2; exit 7"]) as job:
        assert job.wait() == 7
        assert job.status == "exited"
        assert job.logs("stdout") == "out\n" and job.logs("stderr") == "err\n"


def test_client_refuses_other_settings_for_an_existing_default_network(mc_sandbox):
    iso = mc_sandbox.isolation
    assert minicontainer.Client(mc_sandbox.root, bridge=iso.bridge).root == mc_sandbox.root
    with pytest.raises(minicontainer.MCError, match="already has bridge"):
        minicontainer.Client(mc_sandbox.root, bridge="otherbr0")


def test_sandbox_reports_what_it_would_leave_behind():
    """The sandbox's own check is not vacuous: a mount it did not make is caught, and kept."""
    with pytest.raises(AssertionError, match="left behind") as caught:
        with sandbox(kind="mcq") as client:
            stray = os.path.join(client.root, "stray")
            os.mkdir(stray)
            subprocess.run(["mount", "-t", "tmpfs", "none", stray], check=True)
    assert f"mount: {stray}" in str(caught.value)
    subprocess.run(["umount", stray], check=True)
    assert leftovers(os.path.dirname(stray), pid_namespaces()) == []
    subprocess.run(["rm", "-rf", os.path.dirname(stray)], check=True)


def test_exec_from_worker_threads(mc_sandbox):
    """Experiments run execs in parallel: from threads other than the main one (which cannot
    take signal handlers) each exec still captures its own output."""
    from concurrent.futures import ThreadPoolExecutor
    with mc_sandbox.run("busybox", "sleep 60") as box, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: box.exec(["sh", "-c", f"echo {i}; exit {i}"]), range(8)))
    assert [(r.exit_code, r.stdout) for r in results] == [(i, f"{i}\n") for i in range(8)]
