"""The iptables-restore firewall driver (network/firewall.py's Firewall): one `iptables-<backend>-save`
to see what is there, then one `iptables-<backend>-restore --noflush` of the missing lines.

It is how our rules reach nf_tables so that `iptables` (iptables-nft) shows them as Docker's: only
iptables-nft itself writes rules it can read back (libnftables and native nft expressions would make
it call the whole table incompatible; docs/iptables-backends.md). Also used inside a container's
network namespace on either backend (the embedded DNS server's four rules), where no library
should stay loaded in the supervisor.

With --noflush a declared chain that exists is flushed, so only missing chains are declared (never
the admin's MC-USER rules). Each table commits on its own: filter goes first when adding (no DNAT
before its ACCEPT) and nat first when removing.
"""

from __future__ import annotations

import functools
import os
import subprocess
from contextlib import nullcontext
from dataclasses import dataclass, field

from minicontainer.network.backends import LEGACY, iptables_command, restore_command, save_command
from minicontainer.network.fwlock import xtables_lock
from minicontainer.network.groupcommit import GroupCommit
from minicontainer.network.rules import FILTER, NAT, Rule

BUILTIN = {FILTER: ("INPUT", "FORWARD", "OUTPUT"), NAT: ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")}
ADD_ORDER = (FILTER, NAT)      # no DNAT before the ACCEPT of its traffic
REMOVE_ORDER = (NAT, FILTER)


@dataclass
class Table:
    """One table as iptables-save printed it: each chain's rules ("-A CHAIN spec") and policies."""

    chains: dict[str, list[str]] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)


def parse_save(text: str) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    table = Table()
    for line in text.splitlines():
        if line.startswith("*"):
            table = tables.setdefault(line[1:], Table())
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            table.chains.setdefault(name, [])
            if policy != "-":
                table.policies[name] = policy
        elif line.startswith("-A "):
            table.chains.setdefault(line.split()[1], []).append(line)
    return tables


class Changes:
    """The restore text being built, per table, and the commands it stands for."""

    def __init__(self, tables: dict[str, Table], order: tuple[str, ...]):
        self.tables = tables
        self.order = order  # the tables' commit order
        self.lines: dict[str, list[str]] = {}
        self.said: dict[str, list[str]] = {}

    def chain(self, table: str, name: str) -> list[str] | None:
        """The chain's rules as they will be, None if it does not exist."""
        return self.tables.setdefault(table, Table()).chains.get(name)

    def add(self, table: str, line: str, command: str) -> None:
        self.lines.setdefault(table, []).append(line)
        self.said.setdefault(table, []).append(command)

    def _names(self) -> list[str]:
        return [t for t in self.order if t in self.lines] + sorted(set(self.lines) - set(self.order))

    def text(self) -> str:
        return "".join(f"*{t}\n" + "".join(line + "\n" for line in self.lines[t]) + "COMMIT\n" for t in self._names())

    @property
    def commands(self) -> list[str]:
        """The commands it stands for, in the order they take effect (table by table)."""
        return [c for t in self._names() for c in self.said[t]]


@functools.cache
def _removals(backend: str, netns: str | None) -> GroupCommit[list[Rule], list[str]]:
    """The process's one queue of removals from `backend`'s tables in the host's namespace or at
    `netns` (removal needs no chains)."""
    return GroupCommit(RestoreFirewall(None, backend, netns).remove_all)


os.register_at_fork(after_in_child=_removals.cache_clear)  # a child never waits on a lock a parent's thread held


class RestoreFirewall:
    def __init__(self, chains, backend: str, netns: str | None = None):
        self.chains = chains    # rules.Chains, or anything whose owned() names the chains we create
        self.backend = backend
        self.netns = netns      # a network namespace's path: its tables instead of the host's
        self.ipt = iptables_command(backend)
        assert netns or backend != LEGACY, "the host's legacy tables are python-iptables' (iptc_firewall)"

    def _run(self, argv: list[str], stdin: str = "") -> str:
        where = ["nsenter", f"--net={self.netns}"] if self.netns else []
        proc = subprocess.run(where + argv, input=stdin, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise OSError(f"{argv[0]}{' in ' + self.netns if self.netns else ''}: {proc.stderr.strip()}")
        return proc.stdout

    def _lock(self):
        """The host's tables: under our lock. A namespace of a container's has one writer, its supervisor."""
        return nullcontext() if self.netns else xtables_lock()

    def tables(self) -> dict[str, Table]:
        return parse_save(self._run([save_command(self.backend)]))

    def _restore(self, changes: Changes) -> None:
        text = changes.text()
        if text:
            wait = ["--wait"] if self.backend == LEGACY else []  # iptables-nft ignores it
            self._run([restore_command(self.backend), "--noflush", *wait], text)

    def _plan_add(self, rules: list[Rule]) -> tuple[Changes, list[Rule], list[tuple[str, str]]]:
        """The changes, the rules they add and the chains they create."""
        changes, added, created = Changes(self.tables(), ADD_ORDER), [], []
        wanted = [(t, name) for t, names in self.chains.owned().items() for name in names]
        wanted += [(r.table, r.chain) for r in rules]
        for table, name in wanted:
            if changes.chain(table, name) is None:
                changes.tables[table].chains[name] = []
                if name not in BUILTIN.get(table, ()):  # iptables-nft makes a built-in chain on first use
                    changes.add(table, f":{name} - [0:0]", f"{self.ipt} --wait -t {table} -N {name}")
                    created.append((table, name))
        for r in rules:
            content = changes.chain(r.table, r.chain)
            assert content is not None  # declared above
            line = r.save_line()
            if line in content:
                continue
            if r.position is None:
                content.append(line)
                changes.add(r.table, r.restore_line("-A"), r.command("-A", iptables=self.ipt))
            else:
                index = min(r.position, len(content))
                content.insert(index, line)
                changes.add(r.table, r.restore_line("-I", index + 1), r.command("-I", index + 1, iptables=self.ipt))
            added.append(r)
        return changes, added, created

    def add(self, rules: list[Rule], commit: bool = True) -> list[str]:
        """Create missing chains, then add each rule unless an identical one is already there.
        Returns what it did (or, without commit, would do) as iptables commands."""
        with self._lock():
            changes, added, created = self._plan_add(rules)
            if commit:
                try:
                    self._restore(changes)
                except OSError:
                    self._take_back(added, created)
                    raise
        return changes.commands

    def _take_back(self, added: list[Rule], created: list[tuple[str, str]]) -> None:
        """After a failed restore: undo the tables that did commit, their rules, then their chains."""
        self._remove_unlocked(list(reversed(added)))
        tables, changes = self.tables(), Changes({}, REMOVE_ORDER)
        for table, name in created:
            if tables.get(table, Table()).chains.get(name) == []:
                changes.add(table, f"-X {name}", "")
        self._restore(changes)

    def _remove_all(self, requests: list[list[Rule]]) -> list[list[str]]:
        """Delete the rules of several requests with one save and one restore; the -D commands of
        each request, in the order they take effect."""
        tables = self.tables()
        combined, each = Changes(tables, REMOVE_ORDER), []
        for rules in requests:
            mine = Changes(tables, REMOVE_ORDER)  # edits the same tables: a later request sees them
            for r in rules:
                content = mine.chain(r.table, r.chain)
                line = r.save_line()
                if content is not None and line in content:
                    content.remove(line)
                    mine.add(r.table, r.restore_line("-D"), r.command("-D", iptables=self.ipt))
                    combined.add(r.table, r.restore_line("-D"), "")
            each.append(mine.commands)
        self._restore(combined)
        return each

    def _remove_unlocked(self, rules: list[Rule]) -> list[str]:
        return self._remove_all([rules])[0]

    def remove_all(self, requests: list[list[Rule]]) -> list[list[str]]:
        with self._lock():
            return self._remove_all(requests)

    def remove(self, rules: list[Rule]) -> list[str]:
        """Delete each rule that is there; returns the -D commands of those it deleted. Threads of
        one process removing at once share a commit (network/groupcommit.py)."""
        return _removals(self.backend, self.netns).submit(rules)

    def remove_chains(self) -> list[str]:
        """Delete our (now empty or base-only) chains; call after removing the rules that jump to them."""
        with self._lock():
            changes = Changes(self.tables(), REMOVE_ORDER)
            for table in REMOVE_ORDER:
                present = [n for n in self.chains.owned().get(table, []) if changes.chain(table, n) is not None]
                for action in ("-F", "-X"):
                    for name in present:
                        changes.add(table, f"{action} {name}", f"{self.ipt} --wait -t {table} {action} {name}")
            self._restore(changes)
        return changes.commands

    def in_use(self) -> bool:
        """True while our chains hold more than their base rules (another network still uses them)."""
        tables = self.tables()
        for (table, chain), count in self.chains.base_rule_counts().items():
            content = tables.get(table, Table()).chains.get(chain)
            if content is not None and len(content) > count:
                return True
        return False

    def set_forward_policy(self, policy: str) -> list[str]:
        with self._lock():
            changes = Changes({}, ADD_ORDER)
            # with --noflush a built-in chain's line sets its policy and keeps its rules
            changes.add(FILTER, f":FORWARD {policy} [0:0]", f"{self.ipt} --wait -t filter -P FORWARD {policy}")
            self._restore(changes)
        return changes.commands

    def policy(self, chain: str = "FORWARD") -> str:
        """A built-in filter chain's policy ("ACCEPT" where the table does not exist yet)."""
        return self.tables().get(FILTER, Table()).policies.get(chain, "ACCEPT")
