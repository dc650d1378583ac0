"""GET /containers/{id}/stats: runtime/stats' readings in Docker's StatsResponse shape, from which
the docker CLI and docker-py work out CPU % (cpu_stats against precpu_stats) and memory use. One
reading with stream=0 (its precpu taken a moment before, none with one-shot), else one a second
until the client leaves or the container stops."""

from __future__ import annotations

import json
import time

from minicontainer.clock import now_rfc3339
from minicontainer.engine.routes import route

WINDOW = 0.05  # as `minicontainer stats --no-stream`: the moment between the two readings
INTERVAL = 1.0  # as Docker's daemon streams them


def _cpu(s) -> dict:
    return {"cpu_usage": {"total_usage": s.cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": s.system_ns, "online_cpus": s.online_cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def stats_json(rec, now, before, read_at: str, pre_read_at: str) -> dict:
    return {
        "read": read_at, "preread": pre_read_at, "name": "/" + rec.name, "id": rec.id,
        "pids_stats": {"current": now.pids}, "num_procs": 0, "storage_stats": {},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"major": 0, "minor": 0, "op": "read", "value": now.blk_read},
            {"major": 0, "minor": 0, "op": "write", "value": now.blk_write}]},
        "cpu_stats": _cpu(now), "precpu_stats": _cpu(before) if before is not None else {"cpu_usage": {"total_usage": 0},
                                                                                          "throttling_data": {}},
        # usage is already without the inactive page cache (what the CLI would take off): no "stats" to subtract
        "memory_stats": {"usage": now.mem_usage, "limit": now.mem_limit, "stats": {}} if rec.running else {},
        "networks": {"eth0": {"rx_bytes": now.net_rx, "rx_packets": 0, "rx_errors": 0, "rx_dropped": 0,
                              "tx_bytes": now.net_tx, "tx_packets": 0, "tx_errors": 0, "tx_dropped": 0}},
    }


@route("GET", "/containers/{ref}/stats")
def stats(rt, req, resp, ref: str) -> None:
    rec = rt.get(ref)
    one_shot = req.flag("one-shot")
    before, pre_at = (None, "0001-01-01T00:00:00Z") if one_shot else (rt.sample(rec), now_rfc3339())
    if not req.flag("stream", True):
        if before is not None and rec.running:
            time.sleep(WINDOW)
        now = rt.sample(rec)
        resp.json(200, stats_json(rec, now, before, now_rfc3339(), pre_at))
        return
    out = resp.stream(200, "application/json")
    while True:
        if req.conn.hung_up(INTERVAL if before is not None else 0):
            return
        rec = rt.current(rec.id)
        if rec is None:
            break
        now = rt.sample(rec)
        out.write(json.dumps(stats_json(rec, now, before, now_rfc3339(), pre_at)).encode() + b"\n")
        if not rec.running:
            break
        before, pre_at = now, now_rfc3339()
    out.close()
