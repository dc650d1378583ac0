"""network/groupcommit.py with real threads: requests queued while one batch commits go in the
next batch together; a batch that fails is retried one by one, so only the bad request fails."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from minicontainer.network.groupcommit import GroupCommit


class Table:
    """Stands in for a firewall table: a commit takes a while (as a save + restore does) and
    refuses any batch that holds a request for "bad"."""

    def __init__(self):
        self.batches: list[list[str]] = []
        self.lock_held = threading.Lock()

    def commit_all(self, requests: list[str]) -> list[str]:
        assert self.lock_held.acquire(blocking=False), "two commits at once"
        try:
            time.sleep(0.02)
            self.batches.append(list(requests))
            if "bad" in requests:
                raise OSError("iptables-restore: line 3 failed")
            return [f"-D {r}" for r in requests]
        finally:
            self.lock_held.release()


def _submit_all(group: GroupCommit, requests: list[str]) -> list:
    barrier = threading.Barrier(len(requests))

    def submit(request: str):
        barrier.wait()
        try:
            return group.submit(request)
        except OSError as exc:
            return exc

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(submit, requests))


def test_requests_queued_behind_a_commit_share_the_next_one():
    table = Table()
    requests = [f"rule{i}" for i in range(16)]
    results = _submit_all(GroupCommit(table.commit_all), requests)
    assert results == [f"-D {r}" for r in requests]  # each its own answer
    assert sorted(r for batch in table.batches for r in batch) == sorted(requests)  # each committed once
    assert len(table.batches) < len(requests)


def test_a_bad_request_fails_alone():
    table = Table()
    requests = [f"rule{i}" for i in range(7)] + ["bad"]
    results = _submit_all(GroupCommit(table.commit_all), requests)
    assert isinstance(results[-1], OSError) and "line 3 failed" in str(results[-1])
    assert results[:-1] == [f"-D {r}" for r in requests[:-1]]


def test_one_request_alone_raises_its_error_once():
    table = Table()
    with pytest.raises(OSError, match="line 3 failed"):
        GroupCommit(table.commit_all).submit("bad")
    assert table.batches == [["bad"]]  # not tried a second time


def test_a_forked_child_gets_queues_of_its_own():
    """A thread of the parent may hold a queue's lock at the fork: the child must never use that queue."""
    import os

    from minicontainer.network import restore_firewall
    parent = restore_firewall._removals("nft", None)
    parent._turn.acquire()  # as a parent thread committing at the moment of the fork would
    try:
        pid = os.fork()
        if pid == 0:
            child = restore_firewall._removals("nft", None)
            os._exit(0 if child is not parent and child._turn.acquire(timeout=5) else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        parent._turn.release()
    assert os.waitstatus_to_exitcode(status) == 0
