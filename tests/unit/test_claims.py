"""store/claims.py on real files: the cache answers for records that did not change, reads again
those that did (or might have, within a file time tick), and survives being corrupt or stale."""

import json
import os
import time

from minicontainer.store.claims import CACHE, read_claims


def _record(path: str, supervisor_pid: int, mtime_ns: int | None = None) -> None:
    with open(path, "w") as f:  # in place: the inode stays
        json.dump({"id": "c", "creator": None, "supervisor": {"pid": supervisor_pid, "start": 1}, "changing": None}, f)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def _setup(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    record = str(tmp_path / "container.json")
    return str(run), record


def test_a_settled_record_is_answered_from_the_cache(tmp_path):
    run, record = _setup(tmp_path)
    old = time.time_ns() - 10**10
    _record(record, 1001, old)
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1001
    # the same inode, size and time: only a cache that is used still says 1001
    _record(record, 1002, old)
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1001


def test_a_rewritten_record_is_read_again(tmp_path):
    run, record = _setup(tmp_path)
    old = time.time_ns() - 10**10
    _record(record, 1001, old)
    read_claims(run, {"c": record})
    _record(record, 1002, old + 1000)  # another time
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1002
    tmp = record + ".new"
    _record(tmp, 1003, old + 1000)
    os.replace(tmp, record)  # another inode, as write_atomic makes
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1003


def test_a_record_read_within_its_tick_is_not_trusted_later(tmp_path):
    """Written, read and written again within one tick of the file clock, a record keeps its tag:
    an entry read that soon after the write is read again next time."""
    run, record = _setup(tmp_path)
    now = time.time_ns()
    _record(record, 1001, now)
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1001
    _record(record, 1002, now)  # same inode, size and time
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1002


def test_a_corrupt_cache_is_rebuilt_and_removed_records_leave_it(tmp_path):
    run, record = _setup(tmp_path)
    _record(record, 1001, time.time_ns() - 10**10)
    with open(os.path.join(run, CACHE), "w") as f:
        f.write('{"c": [[1, 2')
    assert read_claims(run, {"c": record})["c"]["supervisor"]["pid"] == 1001
    os.unlink(record)
    assert read_claims(run, {"c": record}) == {}
    with open(os.path.join(run, CACHE)) as f:
        assert json.load(f) == {}
