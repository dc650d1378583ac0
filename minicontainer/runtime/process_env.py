"""What a container's processes find in their environment (its pid 1, and every exec)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minicontainer.store.containers import ContainerRecord


def container_env(rec: ContainerRecord) -> list[str]:
    """What the process sees: Config.Env plus HOSTNAME (and TERM with a tty), as Docker adds them."""
    env = list(rec.config.get("Env") or [])
    keys = {e.partition("=")[0] for e in env}
    extra = [f"HOSTNAME={rec.config['Hostname']}"]
    if rec.config.get("Tty"):
        extra.append("TERM=xterm")
    return [e for e in extra if e.partition("=")[0] not in keys] + env
