"""Group commit: many small loads (OTLP requests, API calls) share one transaction.

One writer thread drains the queue: it takes what is waiting (up to a row budget), writes each
submission in turn inside one `Store.load`, commits, and only then wakes the submitters. So a
submitter that gets its result back knows its records are committed, and a burst of small
requests costs one commit instead of hundreds. When the queue is full, `submit` refuses at once
with `Saturated` (the receiver turns it into 503 + Retry-After) instead of queueing without bound.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from models.batches import Batch, LoadResult
from models.store import Store


class Saturated(Exception):
    """The write path is full; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int = 1):
        super().__init__(f"write queue full; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Submission:
    batch: Batch
    rows: int
    future: Future


class WriteQueue:
    def __init__(self, store: Store, *, source: str, kind: str,
                 max_pending: int = 256, max_group_rows: int = 200_000):
        self._store = store
        self._source, self._kind = source, kind
        self._max_group_rows = max_group_rows
        self._queue: queue.Queue[_Submission | None] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name=f"write-queue-{kind}", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch, timeout: float | None = 60) -> LoadResult:
        """Write `batch`; returns once it is committed. Raises `Saturated` when the queue is full."""
        rows = sum(t.num_rows for t in batch.tables().values())
        submission = _Submission(batch, rows, Future())
        try:
            self._queue.put_nowait(submission)
        except queue.Full:
            raise Saturated() from None
        return submission.future.result(timeout=timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, rows = [first], first.rows
            while rows < self._max_group_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)   # finish this group, then stop
                    break
                group.append(nxt)
                rows += nxt.rows
            self._commit(group)

    def _commit(self, group: list[_Submission]) -> None:
        results = []
        try:
            with self._store.load(self._source, self._kind) as load:
                for sub in group:
                    results.append(load.write_counted(sub.batch))
        except BaseException as exc:   # the whole group rolled back: every submitter hears why
            for sub in group:
                sub.future.set_exception(exc)
            return
        for sub, result in zip(group, results):
            sub.future.set_result(result)
