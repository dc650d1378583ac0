"""`run -it` and `exec -it` give a real pseudo-terminal from the container's own devpts; Ctrl-C reaches it."""

import os
import pty
import subprocess
import sys
import time

from tests.conftest import REPO
from tests.helpers.terminal import read_until


def _spawn_on_pty(mc, *args):
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "minicontainer", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=mc.env, start_new_session=True, cwd=REPO)
    os.close(slave)
    return proc, master


def test_run_it_shell_is_interactive(mc):
    proc, master = _spawn_on_pty(mc, "run", "-it", "--rm", "busybox", "sh")
    try:
        read_until(master, b"# ")
        os.write(master, b"tty; echo $TERM; stty size\n")
        out = read_until(master, b"xterm")
        assert b"/dev/pts/0" in out  # a pty of the container's own devpts instance
        # Ctrl-C goes through the terminal to the container's foreground job, not to minicontainer.
        os.write(master, b"sleep 30\n")
        time.sleep(0.5)
        os.write(master, b"\x03")
        os.write(master, b"echo back-$((40+2))\n")
        read_until(master, b"back-42")
        os.write(master, b"exit 5\n")
        assert proc.wait(timeout=10) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_exec_it(mc):
    mc.ok("run", "-d", "--name", "tt1", "busybox", "sleep", "100")
    proc, master = _spawn_on_pty(mc, "exec", "-it", "tt1", "sh")
    try:
        read_until(master, b"# ")
        os.write(master, b"tty; hostname; exit 3\n")
        out = read_until(master, b"/dev/pts/")
        assert b"not a tty" not in out
        assert proc.wait(timeout=10) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    mc.ok("rm", "-f", "tt1")


def test_it_without_terminal_is_refused(mc):
    proc = mc("run", "-it", "--rm", "busybox", "sh", input="")
    assert proc.returncode == 1 and "the input device is not a TTY" in proc.stderr


def test_attach_to_a_dit_container_detach_keys_and_exit(mc):
    """Docker's tutorial: `run -dit` from a script (no terminal), `attach`, ctrl-p ctrl-q leaves it running."""
    mc.ok("run", "-dit", "--name", "box", "busybox", "sh")
    proc, master = _spawn_on_pty(mc, "attach", "box")
    try:
        os.write(master, b"echo attached-$((40+2))\n")
        read_until(master, b"attached-42")
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
        out = read_until(master, b"read escape sequence")
        assert proc.wait(timeout=10) == 1, out  # the docker CLI's status after a detach
    finally:
        os.close(master)
    assert mc.ok("inspect", "-f", "{{.State.Status}}", "box") == "running\n"
    proc, master = _spawn_on_pty(mc, "attach", "--detach-keys", "ctrl-x", "box")
    try:
        os.write(master, b"exit 3\n")
        assert proc.wait(timeout=10) == 3  # the container's exit code, once it ends
    finally:
        os.close(master)
    assert mc.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "box") == "exited 3\n"
    stopped = mc("attach", "box")
    assert stopped.returncode == 1 and "cannot attach to a stopped container, start it first" in stopped.stderr
    mc.ok("rm", "box")


def test_attach_to_a_di_container_feeds_its_stdin(mc):
    mc.ok("run", "-di", "--name", "cat", "busybox", "sh", "-c", "read line; echo got:$line")
    proc = subprocess.Popen([sys.executable, "-m", "minicontainer", "attach", "cat"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=mc.env, cwd=REPO)
    out, err = proc.communicate(b"hello\n", timeout=15)
    assert (proc.returncode, out) == (0, b"got:hello\n"), err
    mc.ok("rm", "cat")
