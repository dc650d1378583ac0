"""50 `run -d -p` at once: alone, and while another program keeps changing the same iptables tables.
Every container gets its own address and answers on its port, and no rule (ours or the other
program's) is lost."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from minicontainer.network.backends import BACKENDS
from tests.integration.nethelp import HTTPD, curl

# Each test runs with our rules in nf_tables (through iptables-nft) and in the legacy tables.
pytestmark = pytest.mark.parametrize("backend", BACKENDS)

COUNT = 50


class OtherWriter(threading.Thread):
    """Adds and deletes rules in a chain of its own, through the iptables CLI of our rules' backend
    (iptables-legacy takes the xtables lock; iptables-nft relies on the kernel's generation check)."""

    def __init__(self, br, chain: str):
        super().__init__(daemon=True)
        self.br, self.chain, self.stop, self.kept, self.changes = br, chain, threading.Event(), 0, 0

    def run(self):
        _ipt = self.br.iptables
        n = 0
        while not self.stop.is_set():
            n += 1
            _ipt("-t", "nat", "-A", self.chain, "-s", f"198.18.{n % 250}.1/32", "-j", "RETURN")
            _ipt("-t", "filter", "-A", self.chain, "-s", f"198.18.{n % 250}.1/32", "-j", "RETURN")
            if n % 2 == 0:  # delete every other pair again: the chains grow by one rule per two rounds
                _ipt("-t", "nat", "-D", self.chain, "-s", f"198.18.{n % 250}.1/32", "-j", "RETURN")
                _ipt("-t", "filter", "-D", self.chain, "-s", f"198.18.{n % 250}.1/32", "-j", "RETURN")
            else:
                self.kept += 1
            self.changes += 1


@pytest.mark.parametrize("other_writer", [False, True], ids=["alone", "with-iptables-writer"])
def test_fifty_parallel_publishes(br, other_writer):
    chain = f"MCW{br.bridge[3:]}"
    _ipt = br.iptables
    for table in ("nat", "filter"):
        _ipt("-t", table, "-N", chain)
    writer = OtherWriter(br, chain)
    if other_writer:
        writer.start()
    # below the kernel's ephemeral range: a client socket elsewhere on the host may hold any port in it
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    base = random.randrange(10000, max(10001, low - COUNT))
    ports = [base + i for i in range(COUNT)]
    try:
        def start(i):
            return br("run", "-d", "--name", f"par{i}", "-p", f"{ports[i]}:80", "busybox", "sh", "-c",
                      HTTPD.format(name=f"par{i}"), timeout=180)
        with ThreadPoolExecutor(COUNT) as pool:
            results = list(pool.map(start, range(COUNT)))
        assert [r.returncode for r in results] == [0] * COUNT, [r.stderr for r in results if r.returncode]
        writer.stop.set()
        if other_writer:
            writer.join()
            assert writer.changes > 0
        ips = [br.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", f"par{i}").strip() for i in range(COUNT)]
        assert len(set(ips)) == COUNT
        for i in range(COUNT):
            assert curl(f"http://127.0.0.1:{ports[i]}/") == f"hello-par{i}\n"
        # every rule of ours is in the kernel, and so is every rule the other writer kept
        save = br.save()
        for i in range(COUNT):
            assert f"--dport {ports[i]} -j DNAT --to-destination {ips[i]}:80" in save
            assert f"-A {br.prefix} -d {ips[i]}/32 ! -i {br.bridge} -o {br.bridge} -p tcp -m tcp --dport 80 -j ACCEPT" in save
        for table in ("nat", "filter"):
            listed = _ipt("-t", table, "-S", chain).stdout.splitlines()
            assert len(listed) - 1 == writer.kept, table  # minus the -N line
    finally:
        writer.stop.set()
        if writer.is_alive():
            writer.join()
        br("rm", "-f", *[f"par{i}" for i in range(COUNT)], timeout=180)
        for table in ("nat", "filter"):
            _ipt("-t", table, "-F", chain)
            _ipt("-t", table, "-X", chain)
