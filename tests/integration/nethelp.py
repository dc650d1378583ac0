"""Helpers for the network tests: a web server command, curl with retries, the host's address."""

import subprocess
import time

HTTPD = "mkdir -p /www && echo hello-{name} > /www/index.html && exec httpd -f -p 80 -h /www"


def host_address() -> str:
    """The host's own first global IPv4 address (traffic to it stays on this machine)."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    return out.split()[3].split("/")[0]


def curl(url: str, netns: str | None = None, timeout: float = 5) -> str:
    cmd = (["ip", "netns", "exec", netns] if netns else []) + ["curl", "-s", "-g", "--max-time", "2", url]
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        if out or time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def proxies(port: int) -> list[str]:
    """The proxies listening on the host port (TCP), a line per socket: its address and its owner's
    command line (the container's supervisor, `python -m minicontainer.runtime.monitor ID`, or the
    `minicontainer run` of a foreground one). Sockets of other programs are left out."""
    import re
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    lines = []
    for row in out.splitlines():
        local = row.split()[3]
        pids = re.findall(r"pid=(\d+)", row)
        owner = open(f"/proc/{pids[0]}/cmdline", "rb").read().replace(b"\0", b" ").decode() if pids else "?"
        if "minicontainer.runtime.monitor " in owner or "bin/minicontainer " in owner:
            lines.append(f"{local} {owner}")
    return lines
