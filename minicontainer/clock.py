"""Times as Docker writes them: RFC 3339 in UTC with nanoseconds (2024-05-01T12:00:00.123456789Z)."""

from __future__ import annotations

import time


def now_rfc3339(t: float | None = None) -> str:
    """t (seconds since the epoch; default now, to the nanosecond) in Docker's format."""
    ns = time.time_ns() if t is None else int(t * 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def parse_time(ts: str) -> float:
    """RFC 3339 in UTC with nanoseconds -> epoch seconds. By the fields' fixed places, not strptime:
    `ps` reads three times of each container."""
    import calendar
    main, _, frac = ts.rstrip("Z").partition(".")
    if len(main) != 19 or main[4] != "-" or main[7] != "-" or main[10] != "T" or main[13] != ":" or main[16] != ":":
        raise ValueError(f"time data {ts!r} does not match format '%Y-%m-%dT%H:%M:%S'")
    fields = (main[0:4], main[5:7], main[8:10], main[11:13], main[14:16], main[17:19])
    if not all(f.isdigit() for f in fields) or (frac and not frac.isdigit()):
        raise ValueError(f"time data {ts!r} does not match format '%Y-%m-%dT%H:%M:%S'")
    year, month, day, hour, minute, second = map(int, fields)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f"time data {ts!r} is out of range")
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return secs + (float("0." + frac) if frac else 0.0)
