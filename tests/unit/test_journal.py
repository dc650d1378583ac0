"""The journal: written before each step, undone in reverse, resumable, errors returned."""

import json
from dataclasses import dataclass

import pytest

from minicontainer.plan import Plan, Step, journaled, state
from minicontainer.store.journal import Journal

LOG: list[str] = []


@journaled
@dataclass
class Note(Step):
    name: str
    learnt: str = ""
    fail_undo: bool = False
    seen: object = state()  # runtime state: never journaled

    def do(self):
        LOG.append(f"do {self.name}")
        self.learnt, self.seen = f"{self.name}-learnt", object()

    def undo(self):
        LOG.append(f"undo {self.name}")
        if self.fail_undo:
            raise OSError(f"cannot undo {self.name}")

    def explain(self):
        return f"echo {self.name}"


@dataclass
class Inside(Step):  # not journaled: inside the container's namespace
    def do(self):
        LOG.append("do inside")

    def explain(self):
        return "true"


@pytest.fixture(autouse=True)
def _clear():
    LOG.clear()


def test_entries_name_their_class_and_module_and_keep_what_do_learnt(tmp_path):
    j = Journal(str(tmp_path / "journal.json"))
    j.apply([Note("a"), Inside(), Note("b")])
    entries = json.load(open(j.path))
    assert [e["type"] for e in entries] == ["Note", "Note"]  # the step inside the container is not there
    assert entries[0]["module"] == __name__ and entries[0]["fields"]["learnt"] == "a-learnt"
    assert "seen" not in entries[0]["fields"]
    assert [s.name for s in j.steps()] == ["a", "b"]


def test_undo_runs_in_reverse_goes_past_errors_and_returns_them(tmp_path):
    j = Journal(str(tmp_path / "journal.json"))
    j.apply([Note("a"), Note("b", fail_undo=True), Note("c")])
    LOG.clear()
    errors = j.undo()
    assert LOG == ["undo c", "undo b", "undo a"]
    assert errors == ["echo b: cannot undo b"]
    assert not j.exists()


def test_an_entry_is_written_before_its_step_is_done(tmp_path):
    j = Journal(str(tmp_path / "journal.json"))

    @dataclass
    class Crash(Note):
        def do(self):
            raise KeyboardInterrupt  # the process dies inside do()

    journaled(Crash)
    with pytest.raises(KeyboardInterrupt):
        j.apply([Note("a"), Crash("b")])
    assert [e["fields"]["name"] for e in json.load(open(j.path))] == ["a", "b"]  # b's undo will find nothing


def test_plan_rollback_keeps_the_first_error_and_notes_the_undo_errors():
    @dataclass
    class Boom(Note):
        def do(self):
            raise ValueError("the real cause")

    plan = Plan([Note("a", fail_undo=True), Note("b"), Boom("c")])
    with pytest.raises(ValueError, match="the real cause") as exc:
        plan.apply()
    assert LOG == ["do a", "do b", "undo b", "undo a"]
    assert exc.value.__notes__ == ["while undoing Note: cannot undo a"]


LEGACY_JOURNAL = [  # as a minicontainer before journal entries named their module wrote it
    {"type": "CreateVeth", "fields": {"host_if": "veth1234567", "bridge": "mc0", "netns_pid": 42, "peer_if": "eth0",
                                      "peer_mac": "02:42:ac:11:00:02"}},
    {"type": "PublishRules", "fields": {"chain_prefix": "MC", "bridge": "mc0", "proto": "tcp", "host_ip": "",
                                        "host_port": 8080, "container_ip": "172.17.0.2", "container_port": 80,
                                        "userland_proxy": True}},
]

READ_IT = """
import json, sys
from minicontainer.network.networks import Network, NetworkStore
from minicontainer.network.repair import wanted_rules
from minicontainer.store.containers import ContainerRecord, ContainerStore
from minicontainer.store.root import StateRoot
root = StateRoot(sys.argv[1]); root.ensure()
rec = ContainerRecord.from_json(json.loads(sys.argv[2]))
net = Network("bridge", "n" * 64, "mc0", "172.17.0.0/16", "172.17.0.1")
rules = wanted_rules(ContainerStore(root), NetworkStore(root), net, [rec])
print(sum(1 for r in rules if "8080" in r.save_line()))
"""


def test_a_journal_written_before_entries_named_their_module_still_loads(tmp_path):
    """A container started by the previous version and still running: the next command's repair
    reads its journal in a fresh process, where nothing has registered CreateVeth yet."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO
    cid = "c" * 64
    os.makedirs(tmp_path / "containers" / cid)
    (tmp_path / "containers" / cid / "journal.json").write_text(json.dumps(LEGACY_JOURNAL))
    rec = {"id": cid, "name": "old", "created": "", "image_id": "i", "image_ref": "busybox", "config": {},
           "host_config": {"NetworkMode": "bridge"}, "status": "running",
           "endpoints": [{"network": "bridge", "network_id": "n" * 64, "bridge": "mc0", "ip": "172.17.0.2",
                          "prefixlen": 16, "gateway": "172.17.0.1", "mac": "02:42:ac:11:00:02",
                          "sandbox_key": "/run/netns/cccccccccccc", "endpoint_id": "e" * 64}]}
    proc = subprocess.run([sys.executable, "-c", READ_IT, str(tmp_path), json.dumps(rec)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": REPO})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) >= 1  # the published port's rules, read back from the old journal
