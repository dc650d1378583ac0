"""Where state lives. Default /var/lib/minicontainer (+ /run/minicontainer for runtime files);
MINICONTAINER_ROOT or --root puts everything under one directory, so tests run isolated."""

from __future__ import annotations

import os

DEFAULT_LIB = "/var/lib/minicontainer"
DEFAULT_RUN = "/run/minicontainer"


class StateRoot:
    def __init__(self, root: str | None = None):
        root = root or os.environ.get("MINICONTAINER_ROOT")
        if root:
            self.lib = os.path.abspath(root)
            self.run = os.path.join(self.lib, "run")
        else:
            self.lib, self.run = DEFAULT_LIB, DEFAULT_RUN
        self.containers = os.path.join(self.lib, "containers")
        self.names = os.path.join(self.lib, "names")
        self.images = os.path.join(self.lib, "images")
        self.tmp = os.path.join(self.lib, "tmp")

    def ensure(self) -> None:
        for d in (self.lib, self.run, self.containers, self.names, self.images, self.tmp):
            os.makedirs(d, mode=0o711, exist_ok=True)

    def lock_path(self, what: str) -> str:
        return os.path.join(self.lib, f"{what}.lock")
