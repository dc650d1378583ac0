"""`minicontainer tour`: the lesson, run for real on the built-in busybox image.

Each step says what it shows, runs the commands (the real CLI, in a state root of the tour's own, so
the user's containers are never touched), prints their output and, for `run`, the kernel actions
behind it (from --explain, only the lines the step is about). On a terminal it pauses for Enter
between steps; --yes (or no terminal) runs straight through. Whatever happens, it removes everything
it created before it returns.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field


@dataclass
class Command:
    """One command the tour runs, with what to show of its output."""

    argv: list[str]                   # after `minicontainer` (or a host command when host=True)
    host: bool = False
    focus: tuple[str, ...] = ()       # show the --explain lines containing any of these
    expect_fail: bool = False


@dataclass
class Lesson:
    """One step of the tour: what it teaches and the commands it runs."""

    title: str
    text: str
    commands: list[Command] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lan:
    """The tour's other machine: a network namespace wired to the host by a veth pair."""

    name: str          # the namespace; its veth's host end is <name>h
    host_address: str  # the host's end, .1 of a free /30
    address: str       # the namespace's eth0, .2

    @classmethod
    def pick(cls) -> Lan:
        import random

        from minicontainer.network.networks import free_link
        link = free_link()
        return cls(f"mctl{random.randrange(16**4):04x}", str(link[1]), str(link[2]))

    def up(self) -> list[list[str]]:
        inside = (f"ip addr add {self.address}/30 dev eth0 && ip link set eth0 up && "
                  f"ip route add default via {self.host_address}")
        return [["ip", "netns", "add", self.name],
                ["ip", "link", "add", f"{self.name}h", "type", "veth", "peer", "name", "eth0", "netns", self.name],
                ["ip", "addr", "add", f"{self.host_address}/30", "dev", f"{self.name}h"],
                ["ip", "link", "set", f"{self.name}h", "up"],
                ["ip", "netns", "exec", self.name, "sh", "-c", inside]]

    def down(self) -> list[list[str]]:
        return [["ip", "link", "del", f"{self.name}h"], ["ip", "netns", "del", self.name]]


def lessons(work: str, bridge: str, port: int, chain: str = "MC", iptables: str = "iptables",
            lan: Lan | None = None, lan_port: int = 0) -> list[Lesson]:
    mc = Command
    return [
        Lesson("A container is a process in new namespaces",
               "`run` forks a process into new mount, UTS, IPC, PID and network namespaces, mounts the image as\n"
               "an overlay, pivot_roots into it and execs the command. Inside, it is pid 1 and sees only itself.\n"
               "(--net none until step 4: networking has steps of its own.)",
               [mc(["run", "--explain", "--rm", "--net", "none", "busybox", "sh", "-c", "echo hello from $(hostname); ps"],
                   focus=("unshare ", "mount -t overlay", "pivot_root", "hostname "))]),
        Lesson("Copy files in and out with cp",
               "cp reaches the container's files from the host through /proc/<pid>/root, resolving every path\n"
               "inside the container (a symlink in it can never point the copy at a host file).",
               [mc(["run", "-d", "--name", "tour-box", "--net", "none", "busybox", "sleep", "3600"]),
                mc(["cp", f"{work}/note.txt", "tour-box:/tmp/note.txt"]),
                mc(["exec", "tour-box", "cat", "/tmp/note.txt"]),
                mc(["exec", "tour-box", "sh", "-c", "echo written inside the container > /tmp/reply.txt"]),
                mc(["cp", "tour-box:/tmp/reply.txt", f"{work}/reply.txt"]),
                mc(["cat", f"{work}/reply.txt"], host=True)]),
        Lesson("Share a host directory with -v",
               "-v HOST:CONTAINER is a bind mount made in the container's mount namespace before pivot_root;\n"
               ":ro remounts it read-only. Both sides see the same files.",
               [mc(["run", "--explain", "--rm", "--net", "none", "-v", f"{work}/shared:/shared", "busybox", "sh", "-c",
                    "echo made in a container > /shared/from-container.txt"], focus=("/shared",)),
                mc(["cat", f"{work}/shared/from-container.txt"], host=True),
                mc(["run", "--rm", "--net", "none", "-v", f"{work}/shared:/shared:ro", "busybox", "touch", "/shared/nope"],
                   expect_fail=True)]),
        Lesson("--net none: a network namespace with nothing in it",
               "A new network namespace has only a loopback interface, and it is down: the runtime brings it up.",
               [mc(["run", "--explain", "--rm", "--net", "none", "busybox", "ip", "addr"],
                   focus=("unshare ", "ip link set lo up"))]),
        Lesson("--net host: no network namespace at all",
               "With --net host the container keeps the host's network namespace: the same interfaces, addresses\n"
               "and ports (note: no --net in the unshare line).",
               [mc(["run", "--explain", "--rm", "--net", "host", "busybox", "ip", "-o", "-4", "addr"],
                   focus=("unshare ",))]),
        Lesson("The default bridge: a veth pair into the container",
               f"The bridge {bridge} is a virtual switch on the host and the containers' gateway; the first container\n"
               "on it creates it (and its NAT rules). Each container gets a veth pair: one end on the bridge, the\n"
               "other in its namespace as eth0. Each end names its peer: eth0@ifN inside is the host's link N,\n"
               "and the host end's @ifM is eth0's index in the container's namespace.",
               [mc(["run", "--explain", "-d", "--name", "tour-net", "busybox", "sleep", "3600"],
                   focus=("ip link add", "ip addr add", "ip route replace", "ip_forward", "MASQUERADE")),
                mc(["exec", "tour-net", "ip", "-o", "-4", "addr", "show", "eth0"]),
                mc(["exec", "tour-net", "ip", "-o", "link", "show", "eth0"]),
                mc(["ip", "-br", "addr", "show", bridge], host=True),
                mc(["ip", "-o", "link", "show", "master", bridge], host=True),
                mc(["network", "show"]),
                mc(["rm", "-f", "tour-net"])]),
        Lesson("Publish a port with -p and fetch a page through it",
               f"-p 127.0.0.1:{port}:80 adds a DNAT rule (traffic for the host port goes to the container) and starts\n"
               "a userland proxy, which is what answers connections to 127.0.0.1 (loopback traffic skips NAT).",
               [mc(["run", "--explain", "-d", "--name", "tour-web", "-p", f"127.0.0.1:{port}:80",
                    "-v", f"{work}/www:/www:ro", "busybox", "httpd", "-f", "-p", "80", "-h", "/www"],
                   focus=("DNAT", "minicontainer-proxy")),
                mc(["port", "tour-web"]),
                mc(["busybox", "wget", "-qO-", f"http://127.0.0.1:{port}/"], host=True),
                mc([iptables, "-t", "nat", "-S", chain], host=True),
                mc(["network", "rules"])]),
    ] + ([_packet_lesson(work, lan, lan_port)] if lan is not None else [])


def _packet_lesson(work: str, lan: Lan, port: int) -> Lesson:
    mc = Command
    return Lesson("Follow one packet: trace and conntrack",
                  f"A second machine: the network namespace {lan.name} ({lan.address}), wired to the host's "
                  f"{lan.host_address}.\nIts request for the published port comes from outside, so it meets "
                  "nat PREROUTING's DNAT, then FORWARD:\n`trace` marks that flow and prints every chain the "
                  "packet meets; `conntrack` shows what NAT made of the connection.",
                  [*(mc(argv, host=True) for argv in lan.up()),
                   mc(["run", "-d", "--name", "tour-pkt", "-p", f"{port}:80", "-v", f"{work}/www:/www:ro",
                       "busybox", "httpd", "-f", "-p", "80", "-h", "/www"]),
                   mc(["trace", "--to", "tour-pkt:80", "--count", "1", "--", "ip", "netns", "exec", lan.name,
                       "busybox", "wget", "-qO-", f"http://{lan.host_address}:{port}/"]),
                   mc(["conntrack", "--nat", "tour-pkt"])])


class Tour:
    def __init__(self, out=None, pause: bool = False):
        self.out = out or sys.stdout
        self.pause = pause
        self.root = tempfile.mkdtemp(prefix="minicontainer-tour-")
        self.work = tempfile.mkdtemp(prefix="minicontainer-tour-files-")
        self.env = {**os.environ, "MINICONTAINER_ROOT": self.root}
        self.env.setdefault("MINICONTAINER_BRIDGE", "mctour0")
        self.env.setdefault("MINICONTAINER_CHAIN_PREFIX", "MCTOUR")
        self.bridge = self.env["MINICONTAINER_BRIDGE"]
        self.lan = Lan.pick()

    def _iptables(self) -> str:
        """The command that shows the tour's rules: the host's `iptables`, unless a backend was asked for."""
        from minicontainer.network.backends import ENV, host_backend, iptables_command
        return iptables_command(self.env.get(ENV) or host_backend())

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _mc(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "minicontainer", *argv], env=self.env, capture_output=True,
                              text=True, timeout=120)

    def run_command(self, cmd: Command) -> bool:
        shown = shlex.join(cmd.argv) if cmd.host else "minicontainer " + shlex.join(cmd.argv)
        self.say(f"$ {shown}")
        if cmd.host:
            proc = subprocess.run(cmd.argv, capture_output=True, text=True, timeout=60)
            explain = ""
        else:
            proc = self._mc(cmd.argv)
            explain = proc.stderr if "--explain" in cmd.argv else ""
        self.out.write(proc.stdout)
        errors = proc.stderr if not explain else ""
        if errors:
            self.out.write(errors)
        if cmd.focus:
            picked = [line for line in explain.splitlines()
                      if any(f in line for f in cmd.focus) and not line.startswith(("#", "cat >", "exec "))]
            self.say("  kernel actions behind it (from --explain, the lines this step is about):")
            for line in picked:
                self.say(f"    {line}")
        failed = proc.returncode != 0
        if failed and cmd.expect_fail:
            self.say(f"  (exit status {proc.returncode}: expected, the mount is read-only)")
        self.say()
        return failed == cmd.expect_fail

    def prepare_files(self, port: int) -> None:
        with open(os.path.join(self.work, "note.txt"), "w") as f:
            f.write("a note from the host\n")
        os.makedirs(os.path.join(self.work, "shared"))
        os.makedirs(os.path.join(self.work, "www"))
        with open(os.path.join(self.work, "www", "index.html"), "w") as f:
            f.write(f"<h1>served from a container through 127.0.0.1:{port}</h1>\n")

    def run(self) -> int:
        port = _free_port()
        ok = True
        try:
            self.prepare_files(port)
            steps = lessons(self.work, self.bridge, port, self.env["MINICONTAINER_CHAIN_PREFIX"], self._iptables(),
                            self.lan, _free_port())
            self.say("minicontainer tour: the container plumbing, one kernel primitive at a time.")
            self.say(f"It uses its own state root ({self.root}) and bridge ({self.bridge}), and removes\n"
                     "everything it created at the end. Each `run` is shown with the kernel actions behind it.\n")
            for i, lesson in enumerate(steps, 1):
                self.say(f"── {i}/{len(steps)}  {lesson.title} " + "─" * max(0, 60 - len(lesson.title)))
                self.say(lesson.text + "\n")
                for cmd in lesson.commands:
                    ok = self.run_command(cmd) and ok
                if self.pause and i < len(steps):
                    try:
                        answer = input("Press Enter for the next step (q to stop) ")
                    except EOFError:
                        answer = "q"
                    if answer.strip().lower().startswith("q"):
                        break
        finally:
            self.cleanup()
        return 0 if ok else 1

    def cleanup(self) -> None:
        self.say("── cleaning up " + "─" * 50)
        for argv in (["rm", "-f", "tour-box", "tour-net", "tour-web", "tour-pkt"],
                     ["network", "rm", "--predefined", "bridge"]):
            proc = self._mc(argv)
            self.say(f"$ minicontainer {shlex.join(argv)}")
            self.out.write(proc.stdout)
        if os.path.exists(f"/run/netns/{self.lan.name}"):
            for argv in self.lan.down():
                subprocess.run(argv, capture_output=True)
                self.say(f"$ {shlex.join(argv)}")
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)
        self.say("Everything the tour created is gone: containers, veths, the bridge, its rules, the state root.")
