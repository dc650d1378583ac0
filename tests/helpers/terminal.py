"""Reading what a program writes to a pseudo-terminal, as a user at it would see it."""

import os
import select
import time


def read_until(master: int, needle: bytes, timeout: float = 10.0) -> bytes:
    """What the pty's master gets until needle appears (fails after timeout, with what came)."""
    buf, deadline = b"", time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {needle!r}; got {buf!r}"
        if select.select([master], [], [], left)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf
