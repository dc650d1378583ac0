"""minicontainer: a daemon-free, Docker-compatible container runtime that shows its work.

Layers (data flows down): cli -> runtime (api) -> specs / plan -> kernel steps -> store / images.
Importing this package must stay cheap: pyroute2 and iptc are imported lazily where needed.
"""

__version__ = "0.1.0"
