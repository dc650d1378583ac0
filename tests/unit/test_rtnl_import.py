"""The light netlink path loads pyroute2's message classes without its asyncio stack, and the full
package still works afterwards in the same process."""

import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import sys
from minicontainer.kernel.rtnl import messages
m = messages()
msg = m.ifinfmsg()
msg["attrs"] = [("IFLA_IFNAME", "probe0")]
msg.encode()
print("light", "asyncio" in sys.modules, "pyroute2.iproute" in sys.modules, len(msg.data))
from pyroute2 import IPRoute  # runs the deferred package __init__ now
print("full", IPRoute.__name__, "pyroute2.iproute" in sys.modules)
"""


def test_messages_without_the_package_init_then_the_full_package():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, check=True).stdout
    light, full = out.splitlines()
    assert light.split()[:3] == ["light", "False", "False"] and int(light.split()[3]) > 16
    assert full == "full IPRoute True"
