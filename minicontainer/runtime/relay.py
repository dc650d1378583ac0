"""The supervisor's I/O loop: container output to the log (and to our terminal in the foreground),
our stdin to the container, and signals we receive passed on to the container (Docker's sig-proxy)."""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import termios
import threading
import tty

from minicontainer.runtime.logs import LogWriter

PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def terminal_winsize(fd: int = 0) -> bytes | None:
    try:
        return fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None


class Started:
    """A started process as its supervisor holds it: pid and its stdio ends. (A plain class: the
    monitor imports this module, and dataclasses would weigh 3 MB on every running container.)"""

    def __init__(self, pid: int, master: int | None = None, outputs: dict[int, str] | None = None,
                 stdin: int | None = None):
        self.pid = pid
        self.master = master              # pty master (tty mode)
        self.outputs = outputs or {}      # fd -> "stdout" / "stderr" (pipe mode)
        self.stdin = stdin                # write end of the container's stdin pipe


class Relay:
    def __init__(self, started: Started, log: LogWriter | None, echo: bool, forward_stdin: bool, sink=None,
                 attach=None, on_exit=None):
        self.pid = started.pid
        self.master = started.master
        self.outputs = {started.master: "stdout"} if started.master is not None else dict(started.outputs)
        self.stdin_dst = started.master if started.master is not None else started.stdin
        self.stdin_src = 0 if forward_stdin and self.stdin_dst is not None else None
        self.log = log
        self.echo = echo
        self.sink = sink  # sink(stream, data) instead of echoing: how the Python API captures exec output
        self.pending = b""
        self.signals: list[int] = []
        self.attach = attach  # an attach.AttachPoint: `attach` clients get the output and feed the stdin
        self.on_exit = on_exit  # (pidfd of the main process, what to do when it exits), --pid host's

    def _on_signal(self, signum, _frame) -> None:
        self.signals.append(signum)

    def _handle_signals(self) -> None:
        while self.signals:
            sig = self.signals.pop(0)
            if sig == signal.SIGWINCH:
                size = terminal_winsize()
                if size and self.master is not None:
                    fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
                continue
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: the pty's last slave fd closed
                raise
            data = b""
        if not data:
            del self.outputs[fd]
            os.close(fd)
            if fd == self.master:
                self.stdin_dst = self.stdin_src = None
            return
        stream = self.outputs[fd]
        if self.log:
            self.log.write(stream, data)
        if self.attach is not None:
            self.attach.send(data)
        if self.sink is not None:
            self.sink(stream, data)
        elif self.echo:
            try:
                _write_all(1 if stream == "stdout" else 2, data)
            except BrokenPipeError:
                self.echo = False

    def _read_stdin(self) -> None:
        data = os.read(self.stdin_src, 65536)
        if data:
            self.pending += data
            return
        self._end_stdin()

    def _end_stdin(self) -> None:
        """EOF from our caller: the container's stdin ends too (pipe mode; a tty's stays open)."""
        self.stdin_src = None
        if self.master is None and not self.pending and self.stdin_dst is not None:
            os.close(self.stdin_dst)
            self.stdin_dst = None

    def _flush_stdin(self) -> None:
        try:
            n = os.write(self.stdin_dst, self.pending)
            self.pending = self.pending[n:]
        except BlockingIOError:
            return
        except BrokenPipeError:
            self.pending, self.stdin_src = b"", None
        if not self.pending and self.stdin_src is None and self.master is None and self.stdin_dst is not None:
            os.close(self.stdin_dst)
            self.stdin_dst = None

    def run(self) -> None:
        """Pump until the container's output ends (its pid 1 exited: the kernel kills the rest)."""
        rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # Python delivers signals to the main thread only: an API user's worker thread proxies none.
        in_main = threading.current_thread() is threading.main_thread()
        old_wakeup = signal.set_wakeup_fd(wfd) if in_main else None
        watched = list(PROXIED_SIGNALS) + [signal.SIGWINCH] if in_main else []
        old_handlers = {s: signal.signal(s, self._on_signal) for s in watched}
        raw_saved = None
        if self.master is not None and self.stdin_src is not None and os.isatty(0):
            raw_saved = termios.tcgetattr(0)
            tty.setraw(0)
        if self.stdin_dst is not None:
            os.set_blocking(self.stdin_dst, False)
        try:
            while self.outputs:
                rlist = [rfd, *self.outputs] + ([self.stdin_src] if self.stdin_src is not None else [])
                rlist += self.attach.fds() if self.attach is not None else []
                rlist += [self.on_exit[0]] if self.on_exit is not None else []
                wlist = [self.stdin_dst] if self.pending and self.stdin_dst is not None else []
                try:
                    readable, writable, _ = select.select(rlist, wlist, [])
                except InterruptedError:
                    continue
                if rfd in readable:
                    while True:
                        try:
                            if not os.read(rfd, 512):
                                break
                        except BlockingIOError:
                            break
                    self._handle_signals()
                for fd in readable:
                    if self.on_exit is not None and fd == self.on_exit[0]:
                        self.on_exit[1]()  # the other processes go, so their copies of the outputs close
                        self.on_exit = None
                    elif fd in self.outputs:
                        self._read_output(fd)
                    elif fd == self.stdin_src:
                        self._read_stdin()
                    elif self.attach is not None and fd in self.attach.fds():
                        typed = self.attach.readable(fd)
                        if typed is None:  # the attached client's stdin ended (StdinOnce): so does the container's
                            self._end_stdin()
                        elif self.stdin_dst is not None:
                            self.pending += typed
                if writable:
                    self._flush_stdin()
        finally:
            if self.attach is not None:
                self.attach.close()
            if raw_saved is not None:
                termios.tcsetattr(0, termios.TCSADRAIN, raw_saved)
            for s, h in old_handlers.items():
                signal.signal(s, h)
            if in_main:
                signal.set_wakeup_fd(old_wakeup)
            os.close(rfd)
            os.close(wfd)
            for fd in self.outputs:
                os.close(fd)
            if self.stdin_dst is not None and self.stdin_dst != self.master:
                os.close(self.stdin_dst)
