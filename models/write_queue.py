"""Group commit: many small loads (OTLP requests, API calls) share one transaction.

One writer thread drains the queue: it takes what is waiting (up to a row budget, lingering a
few milliseconds for more while the group is small, and longer while submissions keep arriving
faster than it commits: a commit costs some 8 ms of CPU whatever its size, so spans committed
1,000 at a time cost ~19 µs each, 4,000 at a time ~12), writes the group inside one `Store.load`,
commits, and only then wakes the submitters. So a submitter that gets its result back knows its
records are committed, and a burst of small requests costs one commit instead of hundreds. When
the queue is full, `submit` refuses at once with `Saturated` (the receiver turns it into 503 +
Retry-After) instead of queueing without bound.

The derived tables (sync_hop, case_event, …) are not refreshed in those commits: a second thread
catches them up right behind (`Store.catch_up`, at most once every two seconds under a stream of
commits, and paced so that it takes at most a third of a core), one refresh over every group
committed since the last, so their cost no longer grows with the number of commits. (A refresh
costs some 90 ms of CPU whatever it covers, its statements being planned anew: at 20,000 spans/s,
one a second spent 4 µs a span on that alone.) It also finishes, on start, what a crash left
underived, and on `close` it catches up before returning.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from models.batches import Batch, LoadResult
from models.store import Store

log = logging.getLogger(__name__)


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
    def __init__(self, store: Store, *, source: str, kind: str, max_pending: int = 256,
                 max_group_rows: int = 200_000, linger_s: float = 0.005,
                 busy_group_rows: int = 4_096, busy_linger_s: float = 0.02,
                 derive_every_s: float = 2.0):
        self._store = store
        self._source, self._kind = source, kind
        self._max_group_rows, self._linger_s = max_group_rows, linger_s
        self._busy_group_rows, self._busy_linger_s = busy_group_rows, busy_linger_s
        self._derive_every_s = derive_every_s
        self._queue: queue.Queue[_Submission | None] = queue.Queue(maxsize=max_pending)
        self._committed = threading.Event()     # set after each commit: derive what it brought
        self._closed = threading.Event()        # set by close: derive what is left, then stop
        self._deriver = threading.Thread(target=self._derive, name=f"derive-{kind}", daemon=True)
        self._thread = threading.Thread(target=self._run, name=f"write-queue-{kind}", daemon=True)
        self._committed.set()                   # first, whatever an earlier run left underived
        self._deriver.start()
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
        """Commit what is queued, derive it, and stop."""
        self._queue.put(None)
        self._thread.join()
        self._closed.set()
        self._committed.set()
        self._deriver.join()

    def _run(self) -> None:
        busy = False
        while True:
            first = self._queue.get()
            if first is None:
                return
            group, rows = [first], first.rows
            # Linger briefly for more while the group is small: a few ms of latency buys one
            # commit for many requests under load, and costs nothing when the queue is idle.
            # Busy (submissions waited for the last commit), linger longer for a larger group.
            started = time.monotonic()
            while rows < self._max_group_rows:
                deadline = started + (self._busy_linger_s if busy and rows < self._busy_group_rows
                                      else self._linger_s)
                try:
                    nxt = self._queue.get(timeout=max(deadline - time.monotonic(), 0)) \
                        if self._queue.empty() else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)   # finish this group, then stop
                    break
                group.append(nxt)
                rows += nxt.rows
            self._commit(group)
            busy = not self._queue.empty()

    def _commit(self, group: list[_Submission]) -> None:
        try:
            with self._store.load(self._source, self._kind, derive=False) as load:
                results = load.write_each([sub.batch for sub in group])
        except BaseException as exc:   # the whole group rolled back: every submitter hears why
            for sub in group:
                sub.future.set_exception(exc)
            return
        self._committed.set()
        for sub, result in zip(group, results):
            sub.future.set_result(result)

    def _derive(self) -> None:
        next_at = 0.0
        while True:
            self._committed.wait()
            # Pace the catch-ups: one per derive_every_s at most, and idle twice as long as the
            # last one took. Under a stream of commits each refresh then covers many of them (a
            # refresh costs much per call, not only per span), and refreshing takes at most a
            # third of a core from the commits, which are what clients wait for.
            rest = next_at - time.monotonic()
            if rest > 0:
                self._closed.wait(rest)
            self._committed.clear()
            closing = self._closed.is_set()
            started = time.monotonic()
            try:
                self._store.catch_up()
            except Exception:   # the records are committed; the next commit (or restart) retries
                log.exception("could not bring the derived tables up to date")
                time.sleep(1)
                self._committed.set()
            took = time.monotonic() - started
            next_at = started + max(self._derive_every_s, 3 * took)
            if closing:
                return
