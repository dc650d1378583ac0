"""The Python API: `minicontainer.Client` and the containers and networks it hands out.

It drives the same code as the CLI (the same option parsing and errors, the same Runtime, the
same supervisor, the same inspect JSON), in the caller's process instead of a shell's:

    import minicontainer
    with minicontainer.sandbox() as mc:                      # own state root, bridge, subnet, chains
        with mc.run("busybox", ["httpd", "-f", "-p", "80"], ports=["8080:80"]) as web:
            print(web.ip, web.host_port(80))
            print(web.exec(["wget", "-qO-", "http://127.0.0.1/"]).exit_code)

Containers always start in the background (`run -d`); `wait()` and `logs()` give what the
foreground run would have shown. Errors are the CLI's: `MCError` and its subclasses, whose
`str()` is the line the CLI prints and whose `exit_code` is the one it exits with.
"""

from __future__ import annotations

import os
import shlex
import signal
from dataclasses import dataclass

from minicontainer.errors import MCError, NoSuchContainer
from minicontainer.runtime.api import Runtime


@dataclass
class ExecResult:
    """What `exec` gives back: the exit code and everything the command wrote."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Client:
    """A runtime on one state root. bridge, subnet and chain_prefix configure the default `bridge`
    network of that root before its first use (the CLI's MINICONTAINER_BRIDGE, _SUBNET and
    _CHAIN_PREFIX variables); left empty, the environment or the defaults (mc0, a free 172.x/16,
    MC) apply. As a context manager, it removes on exit what it created."""

    def __init__(self, root: str | None = None, *, bridge: str = "", subnet: str = "", chain_prefix: str = ""):
        self.runtime = Runtime(root)
        self.runtime.recover()
        self.isolation = None  # a sandbox's names (minicontainer.sandbox.Isolation), None otherwise
        if bridge or subnet or chain_prefix:
            self._networks().configure_default(bridge, subnet, chain_prefix)
        self._made_containers: list[str] = []
        self._made_networks: list[str] = []

    @property
    def root(self) -> str:
        return self.runtime.root.lib

    def _networks(self):
        from minicontainer.network.networks import NetworkStore
        return NetworkStore(self.runtime.root)

    # ---------------------------------------------------------------- containers
    def create(self, image: str, command: list[str] | str = (), *, name: str | None = None, ports=(), volumes=(),
               mounts=(), network: str | list[str] = "bridge", env=(), workdir: str = "", hostname: str = "",
               user: str = "", entrypoint: str | None = None, remove: bool = False, publish_all: bool = False,
               pull: str = "missing", ip: str = "", mac_address: str = "", network_aliases=(), domainname: str = "",
               dns=(), dns_search=(), dns_options=(), extra_hosts=(), links=()) -> Container:
        """`create`: the options are the CLI's, as strings (ports=["8080:80"], volumes=["/src:/dst:ro"],
        mounts=["type=volume,src=data,dst=/data"], env=["KEY=value"], network=["lab", "lab2"],
        extra_hosts=["db:10.0.0.5", "gw:host-gateway"], links=["db:database"])."""
        from minicontainer.specs.run import from_options
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        spec = from_options(image, argv, name=name, detach=True, remove=remove, env=env, workdir=workdir,
                            hostname=hostname, network=network, publish=ports, volume=volumes, mount=mounts,
                            user=user, entrypoint=entrypoint, publish_all=publish_all, ip=ip, mac_address=mac_address,
                            network_alias=network_aliases, domainname=domainname, dns=dns, dns_search=dns_search,
                            dns_option=dns_options, add_host=extra_hosts, link=links)
        rec = self.runtime.create_with_image(spec, pull)  # a pull prints nothing here
        self._made_containers.append(rec.id)
        return Container(self, rec.id)

    def run(self, image: str, command: list[str] | str = (), **options) -> Container:
        """`run -d`: create() with the same options, then start; returns once the container runs."""
        from minicontainer.runtime.supervisor import start_detached
        container = self.create(image, command, **options)
        start_detached(self.runtime, container.record)
        return container

    def container(self, ref: str) -> Container:
        """The container with this name, id or id prefix (NoSuchContainer if none)."""
        return Container(self, self.runtime.get(ref).id)

    def containers(self, all: bool = False) -> list[Container]:  # noqa: A002 - Docker's word
        """`ps` (`ps -a` with all=True), newest first."""
        return [Container(self, rec.id) for rec in self.runtime.list(all_=all)]

    # ---------------------------------------------------------------- networks
    def create_network(self, name: str, subnet: str = "", gateway: str = "", *, ip_range: str = "",
                       internal: bool = False, options=(), labels=()) -> Network:
        """`network create`: a user-defined bridge network; its bridge comes up with its first container.
        options and labels as the CLI's -o and --label strings ("com.docker.network.driver.mtu=1400")."""
        from minicontainer.specs.netcreate import create_options
        wanted = create_options([subnet] if subnet else [], [gateway] if gateway else [],
                                [ip_range] if ip_range else [], list(options), list(labels), internal)
        net = self._networks().create(name, wanted)
        self._made_networks.append(net.name)
        return Network(self, net.name)

    def network(self, name: str) -> Network:
        self._networks().get(name)  # "network NAME not found" now, not later
        return Network(self, name)

    def networks(self) -> list[Network]:
        return [Network(self, n.name) for n in self._networks().list()]

    # ---------------------------------------------------------------- volumes and images
    def create_volume(self, name: str = "") -> str:
        """`volume create [NAME]`; returns the name (a random one if none was given)."""
        from minicontainer.specs.volumes import check_volume_name
        name = name or os.urandom(32).hex()
        check_volume_name(name)
        self.runtime.volumes.ensure(name)
        return name

    def remove_volume(self, name: str, force: bool = False) -> None:
        from minicontainer.runtime.volumes import users_of
        self.runtime.volumes.remove(name, users_of(self.runtime.list(all_=True), name), force)

    def volume_path(self, name: str) -> str:
        """Where a named volume's files are on the host (what Docker calls its Mountpoint)."""
        return self.runtime.volumes.data(self.runtime.volumes.get(name).name)

    def pull(self, ref: str) -> str:
        """`pull`; returns the image id."""
        return self.runtime.pull(ref).id

    def import_image(self, tarball: str, ref: str | None = None) -> str:
        """`import file [REPOSITORY[:TAG]]`; returns the image id."""
        return self.runtime.images.import_tarball(tarball, ref).id

    # ---------------------------------------------------------------- cleanup
    def close(self) -> None:
        """Remove the containers (with their anonymous volumes) and networks this client created."""
        for cid in reversed(self._made_containers):
            try:
                self.runtime.remove(cid, force=True, volumes=True)
            except NoSuchContainer:
                pass
        for name in reversed(self._made_networks):
            try:
                Network(self, name).remove()
            except MCError:
                pass
        self._made_containers.clear()
        self._made_networks.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Container:
    """A handle on one container; every property reads the current state (nothing is cached)."""

    def __init__(self, client: Client, cid: str):
        self.client = client
        self.id = cid

    def __repr__(self) -> str:
        return f"<Container {self.id[:12]}>"

    @property
    def _rt(self) -> Runtime:
        return self.client.runtime

    @property
    def record(self):
        return self._rt.get(self.id)

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def status(self) -> str:
        """created, running or exited, as `inspect` says State.Status."""
        return self.record.status

    @property
    def pid(self) -> int:
        """Its pid 1 as the host sees it (0 when not running): /proc/<pid>/ns/* are its namespaces."""
        rec = self.record
        return rec.pid if rec.running else 0

    @property
    def ip(self) -> str:
        """Its address on its bridge network ("" with none/host or when stopped)."""
        rec = self.record
        return rec.endpoints[0].ip if rec.endpoints else ""

    @property
    def netns(self) -> str:
        """The `ip netns` name of its network namespace ("" when it has none of its own)."""
        rec = self.record
        return os.path.basename(rec.endpoints[0].sandbox_key) if rec.endpoints else ""

    def wait_listening(self, port: int, timeout: float = 10) -> None:
        """Block until something in the container listens on TCP port (read from
        /proc/<pid>/net/tcp and tcp6, which show the container's network namespace)."""
        import time
        deadline = time.monotonic() + timeout
        while not _listening(self.pid, port):
            if time.monotonic() > deadline:
                raise MCError(f"nothing listens on port {port} in container {self.short_id} after {timeout:g}s")
            time.sleep(0.02)

    def inspect(self) -> dict:
        """`inspect CONTAINER`, the same JSON object as the CLI prints."""
        from minicontainer.view.inspect import container_json
        return container_json(self._rt, self.record)

    def ports(self) -> dict[str, list[tuple[str, int]]]:
        """`port CONTAINER`: {"80/tcp": [("0.0.0.0", 8080), ("::", 8080)]}."""
        out: dict[str, list[tuple[str, int]]] = {}
        for p in self.record.ports:
            out.setdefault(p.key, []).append((p.host_ip, p.host_port))
        return out

    def host_port(self, port: int, proto: str = "tcp") -> int:
        """The host port published for the container's port (the IPv4 one), MCError if none."""
        for host_ip, host_port in self.ports().get(f"{port}/{proto}", []):
            if ":" not in host_ip:
                return host_port
        raise MCError(f"Error: No public port '{port}/{proto}' published for {self.short_id}")

    def exec(self, command: list[str] | str, *, env=(), workdir: str = "", user: str = "") -> ExecResult:
        """`exec CONTAINER COMMAND`, its output captured. A command that cannot be started gives
        Docker's 126/127 with the reason on stderr, as the CLI does."""
        from minicontainer.specs.process import parse_env
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        try:
            code = self._rt.exec(self.id, argv, workdir=workdir, env=parse_env(list(env)), user=user,
                                 sink=lambda stream, data: chunks[stream].append(data))
        except MCError as exc:
            if exc.exit_code not in (126, 127):
                raise
            return ExecResult(exc.exit_code, "", f"OCI runtime exec failed: {exc.args[0]}\n")
        text = {k: b"".join(v).decode(errors="replace") for k, v in chunks.items()}
        return ExecResult(code, text["stdout"], text["stderr"])

    def copy_to(self, host_path: str, container_path: str, *, follow_link: bool = False) -> int:
        """`cp HOST_PATH CONTAINER:PATH`; returns the size Docker would report."""
        return self._copy(host_path, f"{self.id}:{container_path}", follow_link)

    def copy_from(self, container_path: str, host_path: str, *, follow_link: bool = False) -> int:
        """`cp CONTAINER:PATH HOST_PATH`: symlinks inside the container resolve inside it."""
        return self._copy(f"{self.id}:{container_path}", host_path, follow_link)

    def _copy(self, src: str, dst: str, follow_link: bool) -> int:
        from minicontainer.runtime.cp import copy
        from minicontainer.specs.cp import parse
        size, _ = copy(self._rt, parse(src, dst, follow_link=follow_link, quiet=True))
        return size

    def logs(self, stream: str = "both") -> str:
        """What the container wrote ("stdout", "stderr" or "both", interleaved as it came)."""
        from minicontainer.runtime.logs import read_entries
        entries, _ = read_entries(self._rt.containers.log_path(self.id))
        return "".join(e["log"] for e in entries if stream in ("both", e["stream"]))

    def explain(self) -> str:
        """`explain CONTAINER`: its last start as a replayable shell script."""
        from minicontainer.show.explain import explain_script
        return explain_script(self._rt, self.record)

    def connect(self, network: str, *, ip: str = "", aliases=()) -> None:
        """`network connect [--ip A] [--alias N] NETWORK CONTAINER`: live if it runs, else at its next start."""
        from minicontainer.runtime.connect import connect
        from minicontainer.specs.network import NetworkAttachment, check_ip
        connect(self._rt, self.id, network, NetworkAttachment(network, check_ip(ip) if ip else "", aliases=tuple(aliases)))

    def disconnect(self, network: str, force: bool = False) -> None:
        """`network disconnect [-f] NETWORK CONTAINER`."""
        from minicontainer.runtime.connect import disconnect
        disconnect(self._rt, self.id, network, force)

    def start(self) -> None:
        self._rt.start(self.id)

    def stop(self, timeout: float = 10) -> None:
        self._rt.stop(self.id, timeout)

    def restart(self, timeout: float = 10) -> None:
        self._rt.restart(self.id, timeout)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self._rt.kill(self.id, sig)

    def wait(self) -> int:
        """Block until it stops; its exit code."""
        return self._rt.wait(self.id)

    def remove(self, force: bool = False, volumes: bool = False) -> None:
        self._rt.remove(self.id, force, volumes)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.remove(force=True, volumes=True)
        except NoSuchContainer:
            pass  # a --rm container that already removed itself


def _listening(pid: int, port: int) -> bool:
    """Whether /proc/<pid>/net/tcp{,6} has a socket in state 0A (LISTEN) on port."""
    if not pid:
        return False
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rpartition(":")[2], 16) == port:
                return True
    return False


class Network:
    """A handle on one bridge network (`bridge` is the default one)."""

    def __init__(self, client: Client, name: str):
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"<Network {self.name}>"

    @property
    def _net(self):
        return self.client._networks().get(self.name)

    @property
    def bridge(self) -> str:
        return self._net.bridge

    @property
    def subnet(self) -> str:
        return self._net.subnet

    @property
    def gateway(self) -> str:
        return self._net.gateway

    def inspect(self) -> dict:
        """`network inspect NAME`, the same JSON object as the CLI prints."""
        from minicontainer.network.networks import attached_to
        from minicontainer.view.inspect import network_json
        net = self._net
        return network_json(net, attached_to(net, self.client.runtime.list()))

    def containers(self) -> list[Container]:
        from minicontainer.network.networks import attached_to
        return [Container(self.client, r.id) for r in attached_to(self._net, self.client.runtime.list())]

    def remove(self) -> None:
        """`network rm`: its rules, nf_tables accepts and bridge go (refused while containers use it)."""
        net = self._net
        self.client._networks().remove(net, [c.id for c in self.containers()])

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
