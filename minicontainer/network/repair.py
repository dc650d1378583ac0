"""Put back firewall rules someone else took away.

Another tool (a firewall reload, `iptables -t nat -F`, an experiment) may delete our chains or rules
while containers run: with dockerd that ends in "No chain/target/match by that name" at the next
`docker run -p`. Here every command first compares what the kernel holds (one `iptables-legacy-save`,
a few milliseconds) with what our networks and running containers need, and adds back what is
missing. Only our own rules are added; nothing of anyone else's is flushed, deleted or moved.
"""

from __future__ import annotations

import os
import subprocess


def rules_in_kernel() -> set[tuple[str, str]]:
    """(table, "-A CHAIN spec") of every rule in the legacy tables, as iptables-save prints it."""
    try:
        out = subprocess.run(["iptables-legacy-save"], capture_output=True, text=True, timeout=30).stdout
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
    from minicontainer.network.firewall import firewall_for
    from minicontainer.store.locks import try_locked
    have = rules_in_kernel()
    running = [r for r in containers.all() if r.running]
    done = []
    for net in nets:
        wanted = wanted_rules(containers, networks, net, running)
        if all((r.table, r.save_line()) in have for r in wanted):
            continue
        # a network whose set-up lock is held is having its bridge and rules made right now
        with try_locked(networks.up_lock(net)) as free:
            if free:
                # libiptc's state must not reach a supervisor this process may fork next (it failed
                # there with EDESTADDRREQ): the rules are added from a short-lived child.
                from minicontainer.kernel.helper import in_helper
                done += in_helper(lambda net=net, wanted=wanted: firewall_for(net.chain_prefix).add(wanted))
    return done

