"""`stats` and `top`: what a running container uses, read from its cgroup and namespaces."""

from __future__ import annotations

import sys
import time

WINDOW = 0.05  # seconds between the two readings CPU % is worked out from


def _containers(rt, refs: list[str], all_: bool) -> list:
    return [rt.get(ref) for ref in refs] if refs else rt.list(all_=all_)


def stats_text(rt, recs: list, before: dict, template: str, truncate: bool) -> tuple[str, dict]:
    """The table for one refresh, and the readings it was made from (the next refresh's `before`)."""
    from minicontainer.cli.format import STATS_HEADERS, STATS_TABLE, formatted, stats_row
    from minicontainer.runtime.stats import cpu_percent
    now = {r.id: rt.sample(r) for r in recs}
    rows = [stats_row(r, now[r.id], cpu_percent(before[r.id], now[r.id]) if r.id in before else 0.0, truncate)
            for r in recs]
    return formatted(template or STATS_TABLE, rows, STATS_HEADERS), now


def cmd_stats(rt, opts, args) -> int:
    recs = _containers(rt, args, opts.all)
    before = {r.id: rt.sample(r) for r in recs}
    time.sleep(WINDOW if any(r.running for r in recs) else 0)
    text, before = stats_text(rt, recs, before, opts.format, not opts.no_trunc)
    if opts.no_stream:
        sys.stdout.write(text)
        return 0
    try:
        while True:
            sys.stdout.write("\033[2J\033[H" + text)  # as Docker's CLI: clear the screen, redraw
            sys.stdout.flush()
            time.sleep(1.0)
            recs = [rt.get(r.id) for r in recs] if args else _containers(rt, [], opts.all)
            text, before = stats_text(rt, recs, before, opts.format, not opts.no_trunc)
    except KeyboardInterrupt:
        return 0


def cmd_top(rt, opts, args) -> int:
    from minicontainer.cli.format import table
    titles, rows = rt.top(args[0], args[1:])
    sys.stdout.write(table([titles] + rows, minwidth=20))
    return 0
