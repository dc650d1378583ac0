"""Group commit of firewall changes made by many threads of one process (`rm` of many containers).

Every change to the host's tables reads the table, edits it and commits it under the one xtables
lock, and the read and the commit grow with the rules there: 250 containers removed side by side
spent 80% of their time queued for that lock, one commit each. Here a thread that gets the turn
takes the requests queued behind it along and commits them all at once (a database's group
commit): as many commits as turns, not as requests.

A batch that fails is tried again request by request, so one bad request fails alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")


class _Pending(Generic[Request, Result]):
    __slots__ = ("request", "result", "error", "done")

    def __init__(self, request: Request):
        self.request = request
        self.result: Result | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit(Generic[Request, Result]):
    """submit(request) returns what commit_all([... request ...]) gave for it; commit_all takes a
    list of requests and returns one result per request, in order."""

    def __init__(self, commit_all: Callable[[list[Request]], list[Result]]):
        self._commit_all = commit_all
        self._turn = threading.Lock()    # held by the thread committing a batch
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending[Request, Result]] = []

    def submit(self, request: Request) -> Result:
        mine: _Pending[Request, Result] = _Pending(request)
        with self._queue_lock:
            self._queue.append(mine)
        with self._turn:
            if not mine.done:  # nobody took it along while we waited for the turn: take the queue
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]  # set by whoever committed it

    def _commit(self, batch: list[_Pending[Request, Result]]) -> None:
        try:
            try:
                results = self._commit_all([p.request for p in batch])
            except Exception as exc:  # noqa: BLE001 - tried again one by one, each keeping its own error
                if len(batch) == 1:
                    batch[0].error, batch[0].done = exc, True
                    return
                for pending in batch:
                    try:
                        pending.result = self._commit_all([pending.request])[0]
                    except Exception as exc:  # noqa: BLE001 - raised in the thread that asked
                        pending.error = exc
                    pending.done = True
                return
            for pending, result in zip(batch, results, strict=True):
                pending.result, pending.done = result, True
        finally:  # interrupted (KeyboardInterrupt): no thread may take an unset result for its own
            for pending in batch:
                if not pending.done:
                    pending.error, pending.done = RuntimeError("the firewall commit was interrupted"), True
