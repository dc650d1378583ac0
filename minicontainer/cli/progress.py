"""What `pull` shows: Docker's lines, and on a terminal a live line per layer with bytes and speed."""

from __future__ import annotations

import threading
import time
from typing import TextIO

from minicontainer.cli.format import human_size

_BAR = 40
_FINAL = ("Pull complete", "Already exists")


class PullProgress:
    """tty: redraw each layer's line in place (cursor up, clear, rewrite, cursor down), as Docker does.
    Not a terminal: only the lines that say something final (no bytes, no bars). quiet: nothing."""

    def __init__(self, out: TextIO, tty: bool, quiet: bool = False):
        self.out, self.tty, self.quiet = out, tty, quiet
        self.order: list[str] = []
        self.started: dict[str, float] = {}
        self.last_draw: dict[str, float] = {}
        self.lock = threading.Lock()

    def line(self, text: str) -> None:
        if not self.quiet:
            with self.lock:
                self.out.write(text + "\n")
                self.out.flush()

    def layer(self, short: str, status: str, current: int = 0, total: int = 0) -> None:
        """status such as 'Pulling fs layer', 'Downloading', 'Extracting', 'Pull complete'."""
        if self.quiet:
            return
        with self.lock:
            new = short not in self.order
            if new:
                self.order.append(short)
            if not self.tty:
                if status in _FINAL:
                    self.out.write(f"{short}: {status}\n")
                    self.out.flush()
                return
            if new:
                self.out.write(f"{short}: {status}\n")
                self.out.flush()
                return
            now = time.monotonic()
            self.started.setdefault(short + status, now)
            if status in ("Downloading", "Extracting") and now - self.last_draw.get(short, 0) < 0.1:
                return
            self.last_draw[short] = now
            text = f"{short}: {status}"
            if total:
                done = min(current, total)
                arrow = "=" * (done * _BAR // total)
                bar = (arrow[:-1] + ">" if arrow and done < total else arrow).ljust(_BAR)
                elapsed = max(now - self.started[short + status], 1e-3)
                text += f" [{bar}]  {human_size(done)}/{human_size(total)}  {human_size(int(done / elapsed))}/s"
            up = len(self.order) - self.order.index(short)
            self.out.write(f"\x1b[{up}A\r\x1b[2K{text}\x1b[{up}B\r")
            self.out.flush()
