import threading
import time
from datetime import datetime

import pyarrow as pa
import pytest

from models import health
from models.batches import Batch
from models.write_queue import Saturated, WriteQueue


def _spans(*ids: str) -> Batch:
    n = len(ids)
    return Batch(span=pa.table({
        "trace_id": ["a" * 32] * n, "span_id": list(ids), "name": ["POST /po"] * n,
        "start_time": [datetime(2026, 5, 4, 8)] * n, "end_time": [datetime(2026, 5, 4, 8, 0, 1)] * n,
    }))


def test_concurrent_submissions_are_each_committed_once_and_counted_apart(store):
    queue = WriteQueue(store, source="otlp /v1/traces", kind="otlp")
    results = {}

    def send(i):
        # every sender repeats span 0, as retrying exporters do
        results[i] = queue.submit(_spans("0" * 16, f"{i + 1:016x}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.close()

    assert health.counts(store.cursor())["spans"] == 21
    assert sum(r.accepted for r in results.values()) == 21
    assert sum(r.duplicates for r in results.values()) == 19
    assert all(r.accepted >= 1 for r in results.values())


def test_a_full_queue_refuses_at_once_with_retry_advice(store):
    queue = WriteQueue(store, source="otlp", kind="otlp", max_pending=1)
    writing, gate = threading.Event(), threading.Event()
    real_load = store.load

    def slow_load(*a, **k):   # hold the writer before its transaction
        writing.set()
        gate.wait(10)
        return real_load(*a, **k)

    store.load = slow_load
    first = threading.Thread(target=queue.submit, args=(_spans("1" * 16),))
    first.start()
    assert writing.wait(5)            # the writer holds the first submission
    second = threading.Thread(target=queue.submit, args=(_spans("2" * 16),))
    second.start()
    while queue._queue.qsize() < 1:   # the second fills the queue
        time.sleep(0.01)

    with pytest.raises(Saturated) as err:
        queue.submit(_spans("3" * 16))
    assert err.value.retry_after >= 1

    gate.set()
    first.join()
    second.join()
    queue.close()
    assert health.counts(store.cursor())["spans"] == 2
