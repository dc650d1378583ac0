"""The python-iptables firewall driver (network/firewall.py's Firewall): libiptc, the *legacy*
x_tables backend, which is what python-iptables drives.

libiptc replaces a whole table per commit and takes no lock, so every change runs under the
xtables lock that the iptables-legacy CLI also takes, as refresh -> modify -> one commit per table.
"""

from __future__ import annotations

import bisect
import functools
import glob
import os
import time
from contextlib import contextmanager

from minicontainer.network.backends import LEGACY, iptables_command
from minicontainer.network.fwlock import xtables_lock
from minicontainer.network.groupcommit import GroupCommit
from minicontainer.network.rules import Rule

# Where the dynamic loader finds libraries on Debian, Ubuntu (multiarch) and Fedora (lib64).
_LIB_DIRS = ("/usr/lib/*-linux-gnu", "/lib/*-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib")


@functools.cache
def _library_listings() -> list[list[str]]:
    """The entries of each library directory, sorted (read once: /usr/lib/<arch> holds thousands)."""
    listings = []
    for pattern in _LIB_DIRS:
        for directory in sorted(glob.glob(pattern)):
            try:
                listings.append(sorted(os.listdir(directory)))
            except OSError:
                continue
    return listings


def _soname(name: str) -> str | None:
    """ctypes.util.find_library's answer without running anything: the soname of lib<name>.so.N in
    the loader's usual directories (libxtables.so.12: the loader finds it by that name), or None."""
    prefix = f"lib{name}.so."
    for entries in _library_listings():
        i = bisect.bisect_left(entries, prefix)
        if i < len(entries) and entries[i].startswith(prefix):
            return entries[i]
    return None


@contextmanager
def _libraries_found_by_listing():
    """During `import iptc`: python-iptables asks ctypes.util.find_library for some twenty names,
    and each unanswered one runs ldconfig, gcc and ld (57 processes, 100-160 ms on this VM)."""
    import ctypes.util
    slow = ctypes.util.find_library
    ctypes.util.find_library = _soname
    try:
        yield
    finally:
        ctypes.util.find_library = slow


def _iptc():
    if "XTABLES_LIBDIR" not in os.environ:
        # Saves iptc's `ldconfig -N -v` probe at import (tens of ms).
        found = glob.glob("/usr/lib/*/xtables") + glob.glob("/lib/*/xtables")
        if found:
            os.environ["XTABLES_LIBDIR"] = found[0]
    try:
        with _libraries_found_by_listing():
            import iptc
    except Exception:  # noqa: BLE001 - a library where we do not look: python-iptables' own search
        import sys
        for module in [m for m in sys.modules if m == "iptc" or m.startswith("iptc.")]:
            del sys.modules[module]
        import iptc
    return iptc


@functools.cache
def _removals() -> GroupCommit[list[Rule], list[str]]:
    """The process's one queue of removals from the legacy tables (removal needs no chains)."""
    return GroupCommit(IptablesFirewall(None).remove_all)


os.register_at_fork(after_in_child=_removals.cache_clear)  # a child never waits on a lock a parent's thread held


class IptablesFirewall:
    def __init__(self, chains):
        self.chains = chains  # rules.Chains, or anything whose owned() names the chains we create
        self.iptc = _iptc()
        self.ipt = iptables_command(LEGACY)  # what the commands we report start with

    def _rule(self, r: Rule):
        ipt = self.iptc
        ir = ipt.Rule()
        if r.src:
            ir.src = r.src
        if r.dst:
            ir.dst = r.dst
        if r.in_iface:
            ir.in_interface = r.in_iface
        if r.out_iface:
            ir.out_interface = r.out_iface
        if r.proto:
            ir.protocol = r.proto
        for name, opts in r.matches:
            m = ir.create_match(name)
            for key, value in opts:
                m.set_parameter(key.replace("-", "_"), value)
        t = ir.create_target(r.target)
        for key, value in r.target_opts:
            t.set_parameter(key.replace("-", "_"), value)
        ir.final_check()  # completes the target/match buffers: without it `ir in chain.rules` misses
        return ir

    @contextmanager
    def _tables(self, names: set[str], commit: bool = True):
        """Tables in batch mode: one commit per table at the end, retried if another writer raced us.
        Without commit the changes stay in libiptc's copy and vanish (a dry run)."""
        ipt = self.iptc
        with xtables_lock():
            tables = {}
            for name in sorted(names):
                t = ipt.Table(name)
                t.autocommit = False
                t.refresh()
                tables[name] = t
            yield tables
            for t in tables.values() if commit else ():
                for attempt in range(5):
                    try:
                        t.commit()
                        break
                    except ipt.IPTCError as exc:
                        if "Resource temporarily unavailable" not in str(exc) or attempt == 4:
                            raise
                        time.sleep(0.01)
            for t in tables.values():
                if not commit:
                    t.refresh()  # drop the dry run's changes from libiptc's cached copy
                t.autocommit = True

    def _chain(self, tables, table: str, name: str, done: list[str]):
        t = tables[table]
        if not t.is_chain(name):
            t.create_chain(name)
            done.append(f"{self.ipt} --wait -t {table} -N {name}")
        return self.iptc.Chain(t, name)

    def add(self, rules: list[Rule], commit: bool = True) -> list[str]:
        """Create missing chains, then add each rule unless an identical one is already there.
        Returns what it did (or, without commit, would do) as iptables commands."""
        done: list[str] = []
        with self._tables({r.table for r in rules} | set(self.chains.owned()), commit) as tables:
            for table, names in self.chains.owned().items():
                for name in names:
                    self._chain(tables, table, name, done)
            for r in rules:
                chain = self._chain(tables, r.table, r.chain, done)
                ir = self._rule(r)
                if ir in chain.rules:
                    continue
                if r.position is None:
                    chain.append_rule(ir)
                    done.append(r.command("-A", iptables=self.ipt))
                else:
                    index = min(r.position, len(chain.rules))
                    chain.insert_rule(ir, index)
                    done.append(r.command("-I", index + 1, iptables=self.ipt))  # iptables counts from 1
        return done

    def remove(self, rules: list[Rule]) -> list[str]:
        """Delete each rule that is there; returns the -D commands of those it deleted. Threads of
        one process removing at once share a commit (network/groupcommit.py)."""
        return _removals().submit(rules)

    def remove_all(self, requests: list[list[Rule]]) -> list[list[str]]:
        """remove() of several rule lists in one commit per table; the -D commands of each."""
        done_each: list[list[str]] = []
        with self._tables({r.table for rules in requests for r in rules}) as tables:
            for rules in requests:
                done: list[str] = []
                for r in rules:
                    t = tables[r.table]
                    if not t.is_chain(r.chain):
                        continue
                    chain = self.iptc.Chain(t, r.chain)
                    try:
                        ir = self._rule(r)
                    except self.iptc.XTablesError:
                        continue  # it jumps to a chain that does not exist, so the rule cannot exist either
                    if ir in chain.rules:
                        chain.delete_rule(ir)
                        done.append(r.command("-D", iptables=self.ipt))
                done_each.append(done)
        return done_each

    def remove_chains(self) -> list[str]:
        """Delete our (now empty or base-only) chains; call after removing the rules that jump to them."""
        done: list[str] = []
        with self._tables(set(self.chains.owned())) as tables:
            for table, names in self.chains.owned().items():
                t = tables[table]
                present = [name for name in names if t.is_chain(name)]
                for name in present:
                    t.flush_entries(name)
                    done.append(f"{self.ipt} --wait -t {table} -F {name}")
                for name in present:
                    t.delete_chain(name)
                    done.append(f"{self.ipt} --wait -t {table} -X {name}")
        return done

    def in_use(self) -> bool:
        """True while our chains hold more than their base rules (another network still uses them)."""
        base = self.chains.base_rule_counts()
        ipt = self.iptc
        with xtables_lock():  # read-only: one refresh per table, no commit
            for table in {t for t, _ in base}:
                t = ipt.Table(table)
                t.refresh()
                for (tname, chain), count in base.items():
                    if tname == table and t.is_chain(chain) and len(ipt.Chain(t, chain).rules) > count:
                        return True
        return False

    def set_forward_policy(self, policy: str) -> list[str]:
        with self._tables({"filter"}) as tables:
            tables["filter"].set_policy("FORWARD", policy)
        return [f"{self.ipt} --wait -t filter -P FORWARD {policy}"]

