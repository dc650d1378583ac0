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
    main, _, frac = ts.rstrip("Z").partition(".")
    if len(main) != 19 or main[4] != "-" or main[7] != "-" or main[10] != "T" or main[13] != ":" or main[16] != ":":
        raise ValueError(f"time data {ts!r} does not match format '%Y-%m-%dT%H:%M:%S'")
    fields = (main[0:4], main[5:7], main[8:10], main[11:13], main[14:16], main[17:19])
    if not all(f.isdigit() for f in fields) or (frac and not frac.isdigit()):
        raise ValueError(f"time data {ts!r} does not match format '%Y-%m-%dT%H:%M:%S'")
    year, month, day, hour, minute, second = map(int, fields)
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise ValueError(f"time data {ts!r} is out of range")
    secs = _days_since_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    return secs + (float("0." + frac) if frac else 0.0)


def _days_since_epoch(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (calendar.timegm's count without importing
    calendar, which brings locale along): years counted from March, so a leap day ends the year."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468
