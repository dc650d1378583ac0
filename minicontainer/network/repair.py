"""Put back firewall rules someone else took away.

Another tool (a firewall reload, `iptables -t nat -F`, an experiment) may delete our chains or rules
while containers run: with dockerd that ends in "No chain/target/match by that name" at the next
`docker run -p`. Here every command first compares what the kernel holds (one `iptables-save` of
each backend in use, a few milliseconds) with what our networks and running containers need, and
adds back what is missing; while the firewall's stamp (kernel/fwstamp.py: nf_tables' generation,
the legacy tables' sizes) is the one the last full check found right, nothing has changed, and the
compare is skipped. Only our own rules are added; nothing of anyone else's is flushed,
deleted or moved. The accepts for our bridges in other rulesets are checked too: a drop policy that
appeared after the bridge was made (a Docker started after us) would otherwise go unnoticed.
"""

from __future__ import annotations

import os
from contextlib import contextmanager


def rules_in_kernel(backend: str) -> set[tuple[str, str]]:
    """(table, "-A CHAIN spec") of every rule in that backend's tables, as iptables-save prints it."""
    import subprocess

    from minicontainer.network.backends import save_command
    try:
        out = subprocess.run([save_command(backend)], capture_output=True, text=True, timeout=30).stdout
    except FileNotFoundError:
        return set()
    have, table = set(), ""
    for line in out.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith("-A "):
            have.add((table, line))
    return have


def wanted_rules(containers, networks, net, running: list) -> list:
    """The network's own rules, then the port rules of its running containers (from their journals:
    exactly what their supervisors added)."""
    import minicontainer.network.journaled  # noqa: F401 - every journaled Step class, for old journals
    from minicontainer.network.ports import PublishRules
    rules = networks.kernel(net).rules()
    for rec in running:
        if rec.endpoint_on(net.name) is not None:
            for step in containers.journal(rec.id).steps(PublishRules):
                if step.bridge == net.bridge:
                    rules += step.rules()
    return rules


def repair(root, containers) -> list[str]:
    """Add back the missing rules of every network whose bridge is up; returns the commands run.
    Nothing is read in full while the firewall's stamp (kernel/fwstamp.py) is the one the last full
    check found everything right under: no rule of anyone's was added or deleted since."""
    from minicontainer.network.networks import NetworkStore
    networks = NetworkStore(root)
    nets = [n for n in networks.list() if os.path.exists(f"/sys/class/net/{n.bridge}")]
    if not nets:
        return []
    from minicontainer.kernel.fwstamp import stamp
    seen = stamp([n.bridge for n in nets])  # before the full read: a change during it shows next time
    if _checked(root) == seen:
        return []
    done, all_right = _repair(networks, containers, nets)
    if all_right:
        _remember(root, seen)
    return done


_followed = None  # the state root whose last-check stamp our own changes carry forward (follow_own_changes)


def follow_own_changes(root) -> None:
    """From now on, a change this process makes to the host's rules under our lock keeps the last
    full check good: its stamp moves with the change, if it was the kernel's just before it."""
    global _followed
    _followed = root


@contextmanager
def own_change():
    """Around a change of ours (network/fwlock.py): the rules were right before it (the stamp the
    last full check saved is still the kernel's) and we only add or remove our own, so they are
    right after it; without this, every start would make the next command read every table in full
    (work that grows with the containers). A foreign change made inside our lock's few
    milliseconds would pass unnoticed until the next change of anyone's."""
    root = _followed
    saved = _checked(root) if root is not None else None
    if saved is None:
        yield
        return
    from minicontainer.kernel.fwstamp import stamp
    still = stamp(saved["bridges"]) == saved
    yield
    if still:
        after = stamp(saved["bridges"])
        if after != saved:
            _remember(root, after)


def _stamp_path(root) -> str:
    return os.path.join(root.run, "firewall-checked.json")


def _checked(root) -> dict | None:
    import json
    try:
        with open(_stamp_path(root)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _remember(root, seen: dict) -> None:
    import json

    from minicontainer.store.locks import write_atomic
    os.makedirs(root.run, exist_ok=True)
    write_atomic(_stamp_path(root), json.dumps(seen))


def _repair(networks, containers, nets: list) -> tuple[list[str], bool]:
    """The full check: every network's rules and accepts against the kernel's, what is missing
    added. Returns the commands run, and whether nothing was missing."""
    from minicontainer.network.forward_view import ForwardView
    from minicontainer.store.locks import try_locked
    have = {backend: rules_in_kernel(backend) for backend in {n.firewall_backend for n in nets}}
    view = ForwardView()  # the other rulesets, read once for every network
    running = [r for r in containers.all() if r.running]
    done, all_right = [], True
    for net in nets:
        wanted = wanted_rules(containers, networks, net, running)
        missing = [r for r in wanted if (r.table, r.save_line()) not in have[net.firewall_backend]]
        accepts = [s for s in networks.kernel(net).accept_steps() if s.needed(view)]
        if not missing and not accepts:
            continue
        all_right = False
        # a network whose set-up lock is held is having its bridge and rules made right now
        with try_locked(networks.up_lock(net)) as free:
            if free:
                done += _put_back(net, wanted if missing else [], accepts)
    return done, all_right


def _put_back(net, rules: list, accepts: list) -> list[str]:
    """Add the rules (those there already are skipped) and apply the accept steps, from a
    short-lived child: libiptc's state must not reach a supervisor this process may fork next (it
    failed there with EDESTADDRREQ)."""
    from minicontainer.kernel.helper import in_helper
    from minicontainer.network.firewall import firewall_for
    from minicontainer.network.rules import Chains

    def work() -> list[str]:
        done = firewall_for(net.firewall_backend, Chains(net.chain_prefix)).add(rules) if rules else []
        for step in accepts:
            step.do()
            done += step.done
        return done
    return in_helper(work)

