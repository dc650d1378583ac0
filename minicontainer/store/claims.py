"""The processes each container record names, read without parsing every record.

A record names up to three processes that recover() looks at on every command: the command creating
it (creator), its supervisor, and a network connect or disconnect under way (changing). With 250
containers, parsing every record for those three fields cost more than the rest of a start. This
file keeps them for every record, each entry tagged with the identity of the record file it was
read from (inode, mtime, size; records are replaced by rename): a command parses again only the
records that changed since.

It is a cache, never a source of truth: missing, unreadable or stale, it is rebuilt from the
records, and any process may rewrite it (the last writer wins; every version is right).
File times tick coarsely (a jiffy), so a record rewritten within the tick it was read in could keep
its tag: as git does with its index, an entry is trusted only for a record older than a margin
before the moment it was read.
"""

from __future__ import annotations

import json
import os
import time

from minicontainer.store.locks import write_atomic

FIELDS = ("creator", "supervisor", "changing")
CACHE = "claims.json"
SETTLED_NS = 100_000_000  # a record this much older than its reading cannot change unseen within a tick


def _read_claims(record_path: str) -> dict | None:
    try:
        with open(record_path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    extra = data.get("extra") or {}  # a record written before the typed fields kept creator there
    return {key: data.get(key, extra.get(key)) for key in FIELDS}


def read_claims(run_dir: str, records: dict[str, str]) -> dict[str, dict]:
    """{container id: {creator, supervisor, changing}} for records {id: path of its container.json};
    a record that vanished while we read is left out."""
    path = os.path.join(run_dir, CACHE)
    try:
        with open(path) as f:
            cached = json.load(f)
    except (FileNotFoundError, ValueError):
        cached = {}
    now, fresh, rewrite = time.time_ns(), {}, len(cached) != len(records)
    for cid, record in records.items():
        try:
            st = os.stat(record)
        except FileNotFoundError:
            rewrite = True
            continue
        tag = [st.st_ino, st.st_mtime_ns, st.st_size]
        entry = cached.get(cid)
        if entry is None or entry[0] != tag or entry[1] - st.st_mtime_ns < SETTLED_NS:
            claims = _read_claims(record)
            if claims is None:
                rewrite = True
                continue
            entry, rewrite = [tag, now, claims], True
        fresh[cid] = entry
    if rewrite:
        try:
            write_atomic(path, json.dumps(fresh))
        except FileNotFoundError:
            pass  # no run directory (a root that never ran anything): nothing worth keeping
    return {cid: entry[2] for cid, entry in fresh.items()}
