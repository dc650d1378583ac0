"""Put back firewall rules someone else took away.

Another tool (a firewall reload, `iptables -t nat -F`, an experiment) may delete our chains or rules
while containers run: with dockerd that ends in "No chain/target/match by that name" at the next
`docker run -p`. Here every command first compares what the kernel holds (one `iptables-save` of
each backend in use, a few milliseconds) with what our networks and running containers need, and
adds back what is missing. Only our own rules are added; nothing of anyone else's is flushed,
deleted or moved. The accepts for our bridges in other rulesets are checked too: a drop policy that
appeared after the bridge was made (a Docker started after us) would otherwise go unnoticed.
"""

from __future__ import annotations

import os
import subprocess


def rules_in_kernel(backend: str) -> set[tuple[str, str]]:
    """(table, "-A CHAIN spec") of every rule in that backend's tables, as iptables-save prints it."""
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
            for step in containers.journal(rec.id).steps():
                if isinstance(step, PublishRules) and step.bridge == net.bridge:
                    rules += step.rules()
    return rules


def repair(root, containers) -> list[str]:
    """Add back the missing rules of every network whose bridge is up; returns the commands run."""
    from minicontainer.network.networks import NetworkStore
    networks = NetworkStore(root)
    nets = [n for n in networks.list() if os.path.exists(f"/sys/class/net/{n.bridge}")]
    if not nets:
        return []
    from minicontainer.network.forward_view import ForwardView
    from minicontainer.store.locks import try_locked
    have = {backend: rules_in_kernel(backend) for backend in {n.firewall_backend for n in nets}}
    view = ForwardView()  # the other rulesets, read once for every network
    running = [r for r in containers.all() if r.running]
    done = []
    for net in nets:
        wanted = wanted_rules(containers, networks, net, running)
        missing = [r for r in wanted if (r.table, r.save_line()) not in have[net.firewall_backend]]
        accepts = [s for s in networks.kernel(net).accept_steps() if s.needed(view)]
        if not missing and not accepts:
            continue
        # a network whose set-up lock is held is having its bridge and rules made right now
        with try_locked(networks.up_lock(net)) as free:
            if free:
                done += _put_back(net, wanted if missing else [], accepts)
    return done


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

