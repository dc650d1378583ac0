"""The built-in `busybox` image, made from the host's static busybox (Debian's busybox-static).

It lets everything run offline: the binary, one symlink per applet, and the few /etc files that
tools such as `id` and `ls -l` expect.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from minicontainer.errors import DaemonError

BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"]
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE_CONFIG = {"Cmd": ["sh"], "Env": [DEFAULT_PATH], "WorkingDir": "", "Entrypoint": None}

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
www-data:x:33:
nogroup:x:65534:
"""
DIRS = {"bin": 0o755, "sbin": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "etc": 0o755, "root": 0o700,
        "home": 0o755, "tmp": 0o1777, "var/www": 0o755, "var/tmp": 0o1777, "proc": 0o555, "sys": 0o555,
        "dev": 0o755, "run": 0o755}


def find_busybox() -> str:
    for path in BUSYBOX_CANDIDATES:
        if os.path.isfile(path):
            return path
    raise DaemonError("busybox is not installed on this host: run scripts/setup "
                      "(it installs Debian's busybox-static)", 125)


def build_rootfs(dest: str) -> str:
    """Fill the empty directory dest with a busybox rootfs; return the busybox binary used."""
    busybox = find_busybox()
    for rel, mode in DIRS.items():
        path = os.path.join(dest, rel)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
    shutil.copy2(busybox, os.path.join(dest, "bin/busybox"))
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for rel in applets:
        if rel == "bin/busybox":
            continue
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(path):
            os.symlink("/bin/busybox", path)
    for rel, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
        with open(os.path.join(dest, rel), "w") as f:
            f.write(text)
    return busybox
