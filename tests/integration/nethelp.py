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
    out = subprocess.run(["pgrep", "-af", "minicontainer.network.proxy"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"-host-port {port} " in line]
