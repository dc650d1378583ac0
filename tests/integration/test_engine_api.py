"""The Docker Engine API service (`minicontainer system service`) driven by the real clients: the
docker CLI from Debian's docker.io package (scripts/setup takes the client alone out of it) and
docker-py. The lesson's commands through the socket give what the minicontainer CLI gives."""

import http.client
import json
import os
import pty
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time
import urllib.request

import pytest

from tests.conftest import REPO
from tests.helpers.terminal import read_until

DOCKER = os.environ.get("MINICONTAINER_DOCKER_CLIENT", "/opt/minicontainer/docker-client/docker")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Engine:
    """A service on a socket of its own, and the docker CLI pointed at it."""

    def __init__(self, mc, directory: str, idle: int = 0):
        self.mc, self.dir = mc, directory
        self.sock = os.path.join(directory, "docker.sock")
        self.env = {**mc.env, "DOCKER_HOST": f"unix://{self.sock}", "DOCKER_CONFIG": directory}
        self.proc = None
        self.start(idle)

    def start(self, idle: int = 0) -> None:
        self.proc = self.mc.popen("system", "service", "--time", str(idle), f"unix://{self.sock}",
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
        deadline = time.monotonic() + 15
        while not self._answers():
            assert self.proc.poll() is None, f"the service exited: {self.proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "the service did not listen"
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.sock)
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        if self.proc is not None:
            self.proc.stderr.close()

    def docker(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([DOCKER, *args], input=input, capture_output=True, text=True, env=self.env,
                              timeout=timeout)

    def ok(self, *args: str, **kw) -> str:
        proc = self.docker(*args, **kw)
        assert proc.returncode == 0, f"docker {' '.join(args)} failed ({proc.returncode}): {proc.stderr}"
        return proc.stdout

    def request(self, method: str, path: str, body: bytes | None = None):
        """One raw HTTP request on the socket: (status, headers, body)."""
        conn = http.client.HTTPConnection("localhost")
        conn.sock = socket.socket(socket.AF_UNIX)
        conn.sock.connect(self.sock)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


@pytest.fixture
def engine(mc):
    assert os.access(DOCKER, os.X_OK), f"no docker client at {DOCKER}: run scripts/setup"
    directory = tempfile.mkdtemp(prefix="mce", dir="/tmp")  # a socket path has 107 bytes at most
    eng = Engine(mc, directory)
    try:
        yield eng
    finally:
        eng.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _as_20_10(text: str) -> str:
    """The 20.10 client (Debian's) writes an IPv6 host address without brackets (`:::8080`); the
    CLI 28 (and minicontainer's) with them. The server sends the same JSON to both."""
    return text.replace("[::]:", ":::")


def _http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def test_the_lesson_through_the_docker_cli_matches_the_minicontainer_cli(engine, mc, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("hello from the lesson\n")
    p1, p2 = _free_port(), _free_port()
    web = engine.ok("run", "-d", "--name", "web", "-p", f"{p1}:80", "-v", f"{site}:/www",
                    "busybox", "httpd", "-f", "-p", "80", "-h", "/www").strip()
    engine.ok("run", "-d", "--rm", "--name", "web2", "-p", f"{p2}:80", "-v", f"{site}:/www",
              "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
    assert len(web) == 64
    # HTTP through both published ports (the userland proxy from loopback)
    assert _http_get(f"http://127.0.0.1:{p1}/") == "hello from the lesson\n"
    assert _http_get(f"http://127.0.0.1:{p2}/") == "hello from the lesson\n"
    # port, inspect and ps say what the minicontainer CLI says
    assert engine.ok("port", "web") == _as_20_10(mc.ok("port", "web"))
    assert f"0.0.0.0:{p1}" in engine.ok("port", "web")
    ip = engine.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").strip()
    assert ip == mc.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").strip()
    assert ip.startswith(mc.net + ".")
    assert _http_get(f"http://{ip}/") == "hello from the lesson\n"
    template = "{{.ID}} {{.Image}} {{.Names}} {{.Ports}}"
    assert sorted(engine.ok("ps", "--format", template).splitlines()) == \
        sorted(_as_20_10(mc.ok("ps", "--format", template)).splitlines())
    # cp both ways by an id prefix
    (tmp_path / "note.txt").write_text("a note\n")
    engine.ok("cp", str(tmp_path / "note.txt"), f"{web[:6]}:/root/")
    assert mc.ok("exec", "web", "cat", "/root/note.txt") == "a note\n"
    engine.ok("cp", f"{web[:6]}:/etc/hostname", str(tmp_path / "hostname"))
    assert (tmp_path / "hostname").read_text() == web[:12] + "\n"
    # exec: both streams apart, the exit code
    proc = engine.docker("exec", "web", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    # -v /tmp:/tmp and --net=host, in the foreground
    marker = tempfile.NamedTemporaryFile(dir="/tmp", prefix="mce-lesson-", delete=False)
    try:
        marker.write(b"from the host's /tmp\n")
        marker.close()
        assert engine.ok("run", "--rm", "-v", "/tmp:/tmp", "busybox", "cat", marker.name) == "from the host's /tmp\n"
    finally:
        os.unlink(marker.name)
    assert engine.ok("run", "--rm", "--net=host", "busybox", "hostname").strip() == os.uname().nodename
    # stop a --rm container: the service's wait sees it removed
    engine.ok("stop", "web2")
    assert "web2" not in mc.ok("ps", "-a", "--format", "{{.Names}}")
    engine.ok("rm", "-f", "web")
    assert mc.ok("ps", "-aq") == ""


def test_foreground_run_gives_both_streams_and_the_exit_code_and_errors_read_as_docker_s(engine, mc):
    proc = engine.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "out\n", "err\n")
    assert mc.ok("ps", "-aq") == ""  # --rm: removed by the time the client returns
    proc = engine.docker("rm", "nosuch")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: No such container: nosuch"
    proc = engine.docker("run", "--rm", "busybox", "nosuchcommand")
    assert proc.returncode == 127 and "executable file not found" in proc.stderr
    assert mc.ok("ps", "-aq") == ""
    echoed = engine.ok("run", "--rm", "-i", "busybox", "wc", "-c", input="twelve bytes")
    assert echoed.strip() == "12"  # stdin through the attach, its end ends the container's


def test_errors_are_json_with_docker_s_status_and_any_version_prefix_is_served(engine):
    status, headers, body = engine.request("GET", "/v1.44/containers/nosuch/json")
    assert status == 404
    assert headers["Content-Type"] == "application/json"  # exactly: the Go client compares with ==
    assert json.loads(body) == {"message": "No such container: nosuch"}
    status, headers, body = engine.request("GET", "/v1.40/nothing/here")
    assert status == 404 and "not served" in json.loads(body)["message"]
    status, headers, body = engine.request("HEAD", "/_ping")
    assert status == 200 and headers["Api-Version"] == "1.44" and headers["Ostype"] == "linux"
    status, _, body = engine.request("POST", "/v1.41/containers/create", b'{"Image": ""}')
    assert status == 400 and json.loads(body)["message"] == "No image was specified"
    status, _, _ = engine.request("POST", "/swarm/leave?force=1")
    assert status == 503  # not in a swarm, as moby answers


def _spawn_on_pty(engine, *args, rows=33, cols=111):
    master, slave = pty.openpty()
    import fcntl
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen([DOCKER, *args], stdin=slave, stdout=slave, stderr=slave, env=engine.env,
                            start_new_session=True)
    os.close(slave)
    return proc, master


@pytest.mark.parametrize("how", ["run", "exec"])
def test_run_it_and_exec_it_in_a_pty_with_the_terminal_s_size(engine, mc, how):
    if how == "exec":
        engine.ok("run", "-d", "--name", "box", "busybox", "sleep", "300")
        proc, master = _spawn_on_pty(engine, "exec", "-it", "box", "sh")
    else:
        proc, master = _spawn_on_pty(engine, "run", "-it", "--rm", "busybox", "sh")
    try:
        read_until(master, b"# ", 15)  # the first prompt is not lost (the supervisor replays it)
        os.write(master, b"tty; echo got-$((6*7))\n")
        assert b"/dev/pts/" in read_until(master, b"got-42", 15)
        # the 20.10 client (API 1.41) sends its size in a resize after the start: it may come after the prompt
        deadline = time.monotonic() + 10
        while True:
            os.write(master, b"echo size-$(stty size | tr ' ' x)-end\n")
            out = read_until(master, b"-end\r\n", 15)
            if b"size-33x111-end" in out:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.1)
        os.write(master, b"exit 5\n")
        assert proc.wait(timeout=15) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    if how == "exec":
        engine.ok("rm", "-f", "box")
    assert mc.ok("ps", "-aq") == ""


def test_concurrent_clients_each_get_their_own_answer(engine, mc):
    results: dict[int, subprocess.CompletedProcess] = {}

    def one(n: int) -> None:
        results[n] = engine.docker("run", "--rm", "--net", "none", "busybox", "echo", f"client-{n}")
    threads = [threading.Thread(target=one, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert {n: (p.returncode, p.stdout, p.stderr) for n, p in results.items()} == \
        {n: (0, f"client-{n}\n", "") for n in range(6)}
    assert mc.ok("ps", "-aq") == ""


def test_a_killed_service_leaves_containers_running_and_a_new_one_serves_them(engine, mc):
    cid = engine.ok("run", "-d", "--name", "survivor", "busybox", "sleep", "300").strip()
    os.kill(engine.proc.pid, signal.SIGKILL)
    engine.proc.wait()
    assert mc.ok("ps", "--format", "{{.Names}} {{.Status}}").startswith("survivor Up")
    engine.proc.stderr.close()
    engine.start()  # the same socket path: the dead service's socket is replaced
    assert engine.ok("ps", "-q", "--no-trunc").split() == [cid]
    assert engine.ok("exec", "survivor", "echo", "still here") == "still here\n"
    engine.ok("rm", "-f", "survivor")


def test_the_service_exits_after_its_idle_time_and_removes_its_socket(engine):
    engine.stop()
    engine.start(idle=1)
    engine.ok("version")
    assert engine.proc.wait(timeout=15) == 0
    assert not os.path.exists(engine.sock)


def test_docker_py_drives_containers_exec_archives_networks_and_volumes(engine, mc):
    import io
    import tarfile

    import docker
    client = docker.DockerClient(base_url=f"unix://{engine.sock}", version="auto")
    try:
        assert client.ping() and client.version()["ApiVersion"] == "1.44"
        assert client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], remove=True) == b"out\n"
        ctr = client.containers.run("busybox", ["sh", "-c", "echo started; sleep 300"], detach=True, name="py1",
                                    labels={"lesson": "api"})
        ctr.reload()
        assert ctr.status == "running" and ctr.labels == {"lesson": "api"}
        deadline = time.monotonic() + 10
        while ctr.logs() != b"started\n":
            assert time.monotonic() < deadline, ctr.logs()
            time.sleep(0.05)
        result = ctr.exec_run(["sh", "-c", "echo hi; exit 2"])
        assert (result.exit_code, result.output) == (2, b"hi\n")
        stdout, stderr = ctr.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True).output
        assert (stdout, stderr) == (b"o\n", b"e\n")
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo("sent.txt")
            info.size = 8
            tar.addfile(info, io.BytesIO(b"payload\n"))
        assert ctr.put_archive("/tmp", archive.getvalue())
        assert mc.ok("exec", "py1", "cat", "/tmp/sent.txt") == "payload\n"
        chunks, stat = ctr.get_archive("/tmp/sent.txt")
        assert stat["name"] == "sent.txt" and stat["size"] == 8
        got = tarfile.open(fileobj=io.BytesIO(b"".join(chunks))).extractfile("sent.txt").read()
        assert got == b"payload\n"
        net = client.networks.create("pynet")
        net.connect(ctr, aliases=["py-alias"])
        ctr.reload()
        assert set(ctr.attrs["NetworkSettings"]["Networks"]) == {"bridge", "pynet"}
        assert "py-alias" in ctr.attrs["NetworkSettings"]["Networks"]["pynet"]["Aliases"]
        net.disconnect(ctr)
        net.remove()
        vol = client.volumes.create("pyvol")
        assert [v.name for v in client.volumes.list()] == ["pyvol"]
        out = client.containers.run("busybox", ["sh", "-c", "echo kept > /v/f; cat /v/f"], remove=True,
                                    volumes={"pyvol": {"bind": "/v", "mode": "rw"}})
        assert out == b"kept\n"
        vol.remove()
        ctr.remove(force=True)
        assert client.containers.list(all=True) == []
        with pytest.raises(docker.errors.NotFound):
            client.containers.get("py1")
    finally:
        client.close()


def test_events_tell_create_start_die_destroy_and_stats_read_the_cgroup(engine, mc):
    since = time.time()
    assert engine.docker("run", "--rm", "--name", "evt", "busybox", "sh", "-c", "exit 3").returncode == 3
    until = time.time() + 0.5
    lines = engine.ok("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                      "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
                      timeout=30).splitlines()
    assert [line.replace(" <no value>", "") for line in lines] == [
        "container create evt", "container start evt", "container die evt 3", "container destroy evt"]
    engine.ok("run", "-d", "--name", "busy", "busybox", "sleep", "300")
    row = engine.ok("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "busy")
    assert row.strip() == "busy 1"
    engine.ok("rm", "-f", "busy")


@pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"), reason="needs Debian's docker-registry")
def test_pull_through_the_api_from_a_registry_on_loopback_and_run_what_came(engine, mc, tmp_path):
    from tests.integration.registrykit import Layer, Registry, busybox_layer
    registry = Registry(str(tmp_path / "registry"))
    try:
        registry.push_image("api/hello", "v1", [busybox_layer().bytes(), Layer().file("hello", b"pulled\n").bytes()],
                            {"Cmd": ["/bin/cat", "/hello"]})
        ref = f"{registry.host}/api/hello:v1"
        # `docker run` of a missing image: the create's 404 makes the client pull (images/create), then create again
        proc = engine.docker("run", "--rm", "--net", "none", ref)
        assert (proc.returncode, proc.stdout) == (0, "pulled\n"), proc.stderr
        assert f"Unable to find image '{ref}' locally" in proc.stderr
        assert ref in engine.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split()
        engine.ok("rmi", ref)
        import docker
        client = docker.DockerClient(base_url=f"unix://{engine.sock}")
        try:
            image = client.images.pull(f"{registry.host}/api/hello", tag="v1")
            assert image.tags == [ref]
            with pytest.raises(docker.errors.APIError) as missing:  # in the stream, after the 200: docker-py raises it
                client.images.pull(f"{registry.host}/api/nothing", tag="v1")
            assert "api/nothing" in str(missing.value)
            client.images.remove(ref)
        finally:
            client.close()
        assert ref not in mc.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split()
        if shutil.which("skopeo"):  # `docker load` of a docker-save archive, the tar as the request's body
            archive = tmp_path / "hello.tar"
            saved = subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}",
                                    f"docker-archive:{archive}:api/hello:v1"], capture_output=True, text=True, timeout=60)
            assert saved.returncode == 0, saved.stderr
            assert engine.ok("load", "-i", str(archive)) == "Loaded image: api/hello:v1\n"
            assert engine.ok("run", "--rm", "--net", "none", "api/hello:v1") == "pulled\n"
            engine.ok("rmi", "api/hello:v1")
    finally:
        registry.stop()


def test_lifecycle_logs_networks_and_volumes_through_the_docker_cli(engine, mc, tmp_path):
    engine.ok("run", "-d", "--name", "job", "busybox", "sh", "-c", "echo one; echo two >&2; sleep 300")
    proc = engine.docker("rm", "job")
    assert proc.returncode == 1 and "You cannot remove a running container" in proc.stderr
    deadline = time.monotonic() + 10
    while (logs := engine.docker("logs", "job")).stdout != "one\n":
        assert time.monotonic() < deadline, logs
        time.sleep(0.05)
    assert logs.stderr == "two\n"
    stamped = engine.ok("logs", "-t", "job")
    assert stamped.endswith(" one\n") and stamped[:4].isdigit()
    titles = engine.ok("top", "job").splitlines()[0].split()
    assert "PID" in titles and "sleep 300" in engine.ok("top", "job")
    engine.ok("kill", "-s", "TERM", "job")  # sh as pid 1 ignores TERM: it goes on
    assert mc.ok("inspect", "-f", "{{.State.Running}}", "job").strip() == "true"
    assert engine.ok("stop", "-t", "1", "job") == "job\n"
    assert engine.ok("wait", "job") == "137\n"
    # cp out of a stopped container (a helper mounts its filesystem privately)
    engine.ok("cp", "job:/etc/passwd", str(tmp_path / "passwd"))
    assert (tmp_path / "passwd").read_text().startswith("root:")
    engine.ok("restart", "-t", "1", "job")
    assert mc.ok("inspect", "-f", "{{.State.Status}}", "job").strip() == "running"
    engine.ok("rename", "job", "task")
    assert "task" in mc.ok("ps", "--format", "{{.Names}}").split()
    proc = engine.docker("rename", "task", "task")
    assert proc.returncode == 1 and proc.stderr.splitlines()[0] == (
        "Error response from daemon: Renaming a container with the same name as its current name")
    engine.ok("rename", "task", "job")
    engine.ok("pause", "job")
    assert engine.ok("ps", "--format", "{{.Names}} {{.Status}}").strip().endswith("(Paused)")
    proc = engine.docker("exec", "job", "true")
    assert proc.returncode != 0 and "is paused" in proc.stderr
    engine.ok("unpause", "job")
    # a user-defined network: create, connect a running container, names resolve, disconnect, rm
    engine.ok("network", "create", "--subnet", "10.77.31.0/24", "lab")
    assert "lab" in engine.ok("network", "ls", "--format", "{{.Name}}").split()
    engine.ok("network", "connect", "--alias", "db", "lab", "job")
    engine.ok("run", "-d", "--name", "peer", "--net", "lab", "busybox", "sleep", "300")
    assert engine.ok("exec", "peer", "ping", "-c", "1", "-W", "2", "db").count("1 packets received") == 1
    net = json.loads(engine.ok("network", "inspect", "lab"))[0]
    assert net["IPAM"]["Config"][0]["Subnet"] == "10.77.31.0/24" and len(net["Containers"]) == 2
    engine.ok("network", "disconnect", "lab", "job")
    proc = engine.docker("network", "rm", "lab")
    assert proc.returncode == 1 and "has active endpoints" in proc.stderr
    engine.ok("rm", "-f", "peer", "job")
    engine.ok("network", "rm", "lab")
    # volumes
    assert engine.ok("volume", "create", "data") == "data\n"
    engine.ok("run", "--rm", "-v", "data:/d", "busybox", "sh", "-c", "echo kept > /d/f")
    assert engine.ok("run", "--rm", "-v", "data:/d", "busybox", "cat", "/d/f") == "kept\n"
    assert json.loads(engine.ok("volume", "inspect", "data"))[0]["Mountpoint"].startswith(mc.root)
    assert engine.ok("volume", "ls", "-q") == "data\n"
    engine.ok("volume", "rm", "data")
    assert mc.ok("volume", "ls", "-q") == ""
