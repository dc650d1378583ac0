"""Loading python-iptables: its library search starts no process (its own runs ldconfig, gcc and ld
for every name, 57 processes), and where our lookup finds nothing its own search still works.
Each case runs in a fresh interpreter: the test process may have loaded iptc already."""

import os
import subprocess
import sys

from tests.conftest import REPO

COUNT_PROCESSES = """
import subprocess
started = []
real = subprocess.Popen.__init__
def counting(self, args, *a, **kw):
    started.append(args)
    real(self, args, *a, **kw)
subprocess.Popen.__init__ = counting
from minicontainer.network.iptc_firewall import _iptc
iptc = _iptc()
assert iptc.Rule and iptc.Table, "python-iptables did not load"
# What may still run: python-iptables' `modprobe ip_tables` where the kernel has loadable modules.
print([args for args in started if "modprobe" not in str(args[0])])
"""

NOTHING_FOUND = """
import minicontainer.network.iptc_firewall as driver
driver._soname = lambda name: None  # a system whose libraries are where we do not look
iptc = driver._iptc()
print(iptc.Rule().create_target("ACCEPT").name)
"""


def _python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("XTABLES_LIBDIR", "IPTABLES_LIBDIR")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PYTHONPATH": REPO})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_loading_python_iptables_searches_for_no_library_with_a_process():
    assert _python(COUNT_PROCESSES) == "[]"


def test_where_our_lookup_finds_nothing_python_iptables_searches_itself():
    assert _python(NOTHING_FOUND) == "ACCEPT"
