"""What the listener imports before it accepts: each connection's process is a fork of it, so a
module imported here is already there in every one (copy-on-write), where each would otherwise
import it anew (a `docker run` takes four connections; the imports were a third of its time).
Imports only: nothing here opens a socket or a file a connection could inherit by mistake."""

from __future__ import annotations

import importlib

WARM = (
    "minicontainer.runtime.api", "minicontainer.runtime.supervisor", "minicontainer.runtime.cgroup",
    "minicontainer.runtime.devices", "minicontainer.runtime.cp", "minicontainer.runtime.connect",
    "minicontainer.specs.run", "minicontainer.specs.cgroup_limits", "minicontainer.specs.seccomp",
    "minicontainer.specs.seccomp_default", "minicontainer.kernel.seccomp", "minicontainer.network.modes",
    "minicontainer.network.ports", "minicontainer.network.bridge", "minicontainer.network.networks",
    "minicontainer.images.store", "minicontainer.store.journal", "minicontainer.store.waiters",
    "minicontainer.view.inspect", "minicontainer.cli.format", "minicontainer.cli.commands",
    "minicontainer.cp.transfer", "minicontainer.cp.tarstream",
)


def warm() -> None:
    from minicontainer.engine import routes
    routes.find("GET", "/_ping")  # every endpoint module
    for name in WARM:
        importlib.import_module(name)
