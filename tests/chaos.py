"""A seeded random soak of the whole runtime, through the CLI as a user types it: run -d with random
ports, volumes and networks, exec, cp, stop, start, kill -9 of a container or of its supervisor,
rm, network create/rm; then rm -f of everything. A model of what should exist is checked against
`ps -a` after every operation, every container expected to serve is asked over HTTP, and the
caller compares the host before and after (minicontainer.residue).

Used by tests/integration/test_chaos.py (a CI-sized run) and scripts/soak (a long one). The same
seed gives the same sequence of operations.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTPD = "mkdir -p /www && echo hello-{name} > /www/index.html && exec httpd -f -p 80 -h /www"


class Runner:
    """`python -m minicontainer ARGS` on one state root with the given network names."""

    def __init__(self, root: str, env: dict[str, str]):
        self.root = root
        self.env = {**os.environ, **env, "MINICONTAINER_ROOT": root, "PYTHONPATH": REPO}

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "minicontainer", *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout)


@dataclass
class Box:
    name: str
    network: str            # bridge, none or a user network
    port: int               # published host port, 0 for none
    volume: str
    running: bool = True


@dataclass
class Soak:
    run: Runner
    seed: int
    ports: range = range(30000, 60000)
    boxes: dict[str, Box] = field(default_factory=dict)
    networks: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    served: int = 0
    counter: int = 0

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.used_ports: set[int] = set()
        self.scratch = os.path.join(self.run.root, "..", f"soak-files-{self.seed}")
        os.makedirs(self.scratch, exist_ok=True)

    # ------------------------------------------------------------------ helpers
    def mc(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        proc = self.run(*args)
        if ok and proc.returncode != 0:
            self.fail(f"minicontainer {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def fail(self, message: str) -> None:
        tail = "\n".join(self.log[-15:])
        raise AssertionError(f"soak seed {self.seed}, op {len(self.log)}: {message}\nlast operations:\n{tail}")

    def pick(self, running: bool | None = None) -> Box | None:
        boxes = sorted((b for b in self.boxes.values() if running is None or b.running == running), key=lambda b: b.name)
        return self.rng.choice(boxes) if boxes else None

    def serves(self, box: Box) -> None:
        """A published port answers with the container's own page (proxy on 127.0.0.1)."""
        url = f"http://127.0.0.1:{box.port}/"
        deadline = time.monotonic() + 10
        while True:
            out = subprocess.run(["curl", "-s", "--max-time", "2", url], capture_output=True, text=True).stdout
            if out == f"hello-{box.name}\n":
                self.served += 1
                return
            if time.monotonic() > deadline:
                self.fail(f"{box.name} on port {box.port} did not serve: {out!r}")
            time.sleep(0.1)

    # ------------------------------------------------------------------ operations
    def op_run(self) -> str | None:
        if len(self.boxes) >= 12:  # full: remove one instead (and count it as an rm)
            self.op_rm()
            return "rm"
        self.counter += 1
        name = f"soak{self.counter}"
        network = self.rng.choice(["bridge", "bridge", "none"] + self.networks)
        port = 0
        if network != "none" and self.rng.random() < 0.7:
            port = self.rng.choice([p for p in self.rng.sample(self.ports, 20) if p not in self.used_ports])
            self.used_ports.add(port)
        volume = self.rng.choice(["soakvol:/data", f"{self.scratch}/bind-{name}:/data", "/data"])
        args = ["run", "-d", "--name", name, "--network", network, "-v", volume]
        if port:
            args += ["-p", f"{port}:80"]
        self.mc(*args, "busybox", "sh", "-c", HTTPD.format(name=name))
        box = self.boxes[name] = Box(name, network, port, volume)
        if port:
            self.serves(box)

    def op_exec(self) -> None:
        box = self.pick(running=True)
        if box:
            out = self.mc("exec", box.name, "echo", f"in-{box.name}").stdout
            if out != f"in-{box.name}\n":
                self.fail(f"exec in {box.name} printed {out!r}")

    def op_cp(self) -> None:
        box = self.pick(running=True)
        if not box:
            return
        payload = os.urandom(self.rng.randrange(1, 200000))
        src = os.path.join(self.scratch, "payload")
        with open(src, "wb") as f:
            f.write(payload)
        self.mc("cp", src, f"{box.name}:/tmp/payload")
        back = os.path.join(self.scratch, "back")
        self.mc("cp", f"{box.name}:/tmp/payload", back)
        with open(back, "rb") as f:
            if f.read() != payload:
                self.fail(f"cp into and out of {box.name} changed the file")
        os.unlink(back)

    def op_stop(self) -> None:
        box = self.pick(running=True)
        if box:
            self.mc("stop", "-t", "1", box.name)
            box.running = False

    def op_start(self) -> None:
        box = self.pick(running=False)
        if box and (box.network in ("bridge", "none") or box.network in self.networks):
            self.mc("start", box.name)
            box.running = True
            if box.port:
                self.serves(box)

    def op_kill_container(self) -> None:
        box = self.pick(running=True)
        if box:
            self.mc("kill", box.name)
            box.running = False
            self._wait_exited(box)

    def op_kill_supervisor(self) -> None:
        """kill -9 of the supervisor: the container dies with it, the next command reaps it."""
        box = self.pick(running=True)
        if not box:
            return
        from minicontainer.runtime.api import Runtime
        rt = Runtime(self.run.root)
        rec = rt.containers.load(rt.containers.resolve(box.name))
        if rec.supervisor:
            try:
                os.kill(rec.supervisor["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        box.running = False
        self._wait_exited(box)

    def _wait_exited(self, box: Box) -> None:
        deadline = time.monotonic() + 10
        while self.mc("inspect", "-f", "{{.State.Running}}", box.name).stdout.strip() != "false":
            if time.monotonic() > deadline:
                self.fail(f"{box.name} still runs after being killed")
            time.sleep(0.05)

    def op_rm(self) -> None:
        box = self.pick()
        if box:
            self.mc("rm", "-f", "-v", box.name)
            del self.boxes[box.name]

    def op_network_create(self) -> str | None:
        if len(self.networks) >= 3:
            self.op_network_rm()
            return "network_rm"
        self.counter += 1
        name = f"soaknet{self.counter}"
        self.mc("network", "create", name)
        self.networks.append(name)

    def op_network_rm(self) -> None:
        if not self.networks:
            return
        name = self.rng.choice(self.networks)
        users = [b for b in self.boxes.values() if b.network == name and b.running]  # as Docker: running ones
        proc = self.mc("network", "rm", name, ok=not users)
        if users:
            if proc.returncode != 1 or "has active endpoints" not in proc.stderr:
                self.fail(f"network rm {name} with containers attached: {proc.returncode} {proc.stderr!r}")
        else:
            self.networks.remove(name)

    OPERATIONS = {"run": 5, "exec": 3, "cp": 2, "stop": 2, "start": 2, "kill_container": 1, "kill_supervisor": 1,
                  "rm": 2, "network_create": 1, "network_rm": 1}

    # ------------------------------------------------------------------ the run
    def check_model(self) -> None:
        """ps -a lists exactly the containers the model holds; ps exactly the running ones."""
        listed = self.names("-a")
        if listed != set(self.boxes):
            self.fail(f"ps -a shows {sorted(listed)}, expected {sorted(self.boxes)}")
        running = self.names()
        expected = {b.name for b in self.boxes.values() if b.running}
        if running != expected:
            self.fail(f"ps shows running {sorted(running)}, expected {sorted(expected)}")

    def names(self, *flags: str) -> set[str]:
        """The NAMES column of `ps` (the last one; names have no spaces)."""
        return {line.split()[-1] for line in self.mc("ps", *flags).stdout.splitlines()[1:]}

    def go(self, operations: int) -> Counter:
        self.mc("volume", "create", "soakvol")
        kinds = list(self.OPERATIONS)
        weights = [self.OPERATIONS[k] for k in kinds]
        done = Counter()
        for _ in range(operations):
            kind = self.rng.choices(kinds, weights)[0]
            self.log.append(kind)
            started = time.monotonic()
            kind = getattr(self, f"op_{kind}")() or kind  # what was really done
            self.timings[kind].append(time.monotonic() - started)
            done[kind] += 1
            self.check_model()
        self.clean_up()
        return done

    def clean_up(self) -> None:
        names = self.mc("ps", "-aq").stdout.split()
        if names:
            self.mc("rm", "-f", "-v", *names)
        for net in self.networks:
            self.mc("network", "rm", net)
        self.networks.clear()
        self.boxes.clear()
        self.mc("network", "rm", "--predefined", "bridge", ok=False)  # only if a run created it
        self.mc("volume", "rm", "soakvol")
        import shutil
        shutil.rmtree(self.scratch, ignore_errors=True)
