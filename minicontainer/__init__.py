"""minicontainer: a daemon-free, Docker-compatible container runtime that shows its work.

Layers (data flows down): cli / client (the Python API) -> runtime -> specs / plan -> kernel steps
-> store / images. Importing this package must stay cheap (every CLI command does): the API's
names below load on first use, and pyroute2 and iptc only where a command needs them.

    import minicontainer
    with minicontainer.sandbox() as mc:
        with mc.run("busybox", ["sleep", "60"]) as box:
            print(box.ip, box.exec(["hostname"]).stdout)
"""

__version__ = "0.1.0"

_API = {"Client": "minicontainer.client", "Container": "minicontainer.client", "Network": "minicontainer.client",
        "ExecResult": "minicontainer.client", "sandbox": "minicontainer.sandbox", "MCError": "minicontainer.errors",
        "NoSuchContainer": "minicontainer.errors", "DaemonError": "minicontainer.errors"}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'minicontainer' has no attribute {name!r}")
