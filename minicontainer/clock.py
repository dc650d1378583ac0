"""Times as Docker writes them: RFC 3339 in UTC with nanoseconds (2024-05-01T12:00:00.123456789Z)."""

from __future__ import annotations

import time


def now_rfc3339(t: float | None = None) -> str:
    """t (seconds since the epoch; default now, to the nanosecond) in Docker's format."""
    ns = time.time_ns() if t is None else int(t * 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def parse_time(ts: str) -> float:
    """RFC 3339 with nanoseconds -> epoch seconds."""
    from datetime import datetime, timezone
    main, _, frac = ts.rstrip("Z").partition(".")
    secs = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return secs + (float("0." + frac) if frac else 0.0)
