"""clock.parse_time against the standard library's own answers (it counts days itself, so that
`ps` need not import calendar)."""

import calendar
from datetime import datetime, timezone

import pytest

from minicontainer.clock import now_rfc3339, parse_time


@pytest.mark.parametrize("ts", ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                "2000-02-29T12:00:00.5Z", "1900-03-01T00:00:00Z", "2100-02-28T23:59:59Z",
                                "2024-02-29T06:07:08.123456789Z", "9999-12-31T23:59:59Z"])
def test_parse_time_agrees_with_timegm(ts):
    main, _, frac = ts.rstrip("Z").partition(".")
    expected = calendar.timegm(datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").timetuple())
    assert parse_time(ts) == expected + (float("0." + frac) if frac else 0.0)


def test_every_day_of_four_centuries():
    day = datetime(1800, 1, 1, tzinfo=timezone.utc)
    for offset in range(0, 146097 + 400, 7):  # every 7th day across a whole 400-year cycle
        t = day.timestamp() + offset * 86400
        assert parse_time(now_rfc3339(t)) == t


def test_bad_times_are_refused():
    for bad in ("2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "yesterday"):
        with pytest.raises(ValueError):
            parse_time(bad)
