"""Resent spans are stored once, whether the writer still remembers their keys or not."""

from datetime import datetime

import pyarrow as pa

from models import health, recent_spans
from models.batches import Batch
from models.store import open_store


def _spans(minute: int, *ids: str) -> Batch:
    n = len(ids)
    start = datetime(2026, 5, 4, 8, minute)
    return Batch(span=pa.table({
        "trace_id": [f"{minute:032x}"] * n, "span_id": list(ids), "name": ["POST /po"] * n,
        "start_time": [start] * n, "end_time": [start] * n,
    }))


def _accepted(store, batch: Batch) -> int:
    return store.ingest([batch], source="otlp /v1/traces", kind="otlp").accepted


def test_resent_spans_are_stored_once_after_their_keys_are_forgotten_and_after_a_restart(tmp_path, monkeypatch):
    monkeypatch.setattr(recent_spans, "MAX_KEYS", 4)
    groups = [_spans(m, f"{m:016x}", f"{m + 100:016x}") for m in (1, 2, 3)]
    store = open_store(tmp_path / "p2p.duckdb")
    assert [_accepted(store, g) for g in groups] == [2, 2, 2]   # the first group's keys forgotten
    assert [_accepted(store, g) for g in groups] == [0, 0, 0]
    store.close()

    store = open_store(tmp_path / "p2p.duckdb")
    assert [_accepted(store, g) for g in reversed(groups)] == [0, 0, 0]
    assert _accepted(store, _spans(4, "4" * 16, "1" * 16)) == 2
    assert _accepted(store, _spans(1, f"{1:016x}", "5" * 16)) == 1   # one of them resent late
    assert health.counts(store.cursor())["spans"] == 9
    store.close()


def _ids(*span_ids: str) -> pa.Table:
    return pa.table({"trace_id": ["t"] * len(span_ids), "span_id": list(span_ids)})


def test_keys_sent_again_are_remembered_until_their_last_sender_is_forgotten():
    remembered = recent_spans.RecentSpans(None, max_keys=2)
    remembered.add(set(recent_spans.span_keys(_ids("1", "2"))), datetime(2026, 5, 4, 8, 1))
    # 2 sent again: the first group is forgotten, 2 is not
    remembered.add(set(recent_spans.span_keys(_ids("2", "3"))), datetime(2026, 5, 4, 8, 2))
    assert remembered.after == datetime(2026, 5, 4, 8, 1)
    assert remembered.new_keys(_ids("2"), datetime(2026, 5, 4, 8, 3)) is None
    assert remembered.new_keys(_ids("4"), datetime(2026, 5, 4, 8, 3)) == set(recent_spans.span_keys(_ids("4")))
    assert remembered.new_keys(_ids("4", "4"), datetime(2026, 5, 4, 8, 3)) is None   # repeated in the group
