"""Span rows (plain dicts, times in µs since the epoch) to the Arrow `span` table."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa

from models.batches import SPAN, TS

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUSES = ("UNSET", "OK", "ERROR")
_EPOCH = datetime(1970, 1, 1)

JSON_COLUMNS = ("attributes", "resource", "events", "links")


def to_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def iso_us(micros: int) -> str:
    """µs since the epoch as an ISO 8601 UTC time with microseconds (no zone suffix)."""
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")


def span_table(rows: list[dict]) -> pa.Table:
    """`rows` with keys of the span schema; start_us/end_us instead of start_time/end_time, and
    attributes/resource/events/links as Python values (JSON-encoded here)."""
    columns = {}
    for f in SPAN:
        if f.name in ("start_time", "end_time"):
            key = "start_us" if f.name == "start_time" else "end_us"
            columns[f.name] = pa.array([r[key] for r in rows], pa.int64()).cast(TS)
        elif f.name in JSON_COLUMNS:
            columns[f.name] = pa.array([None if r.get(f.name) is None else to_json(r[f.name]) for r in rows], pa.string())
        else:
            columns[f.name] = pa.array([r.get(f.name) for r in rows], pa.string())
    return pa.table(columns, schema=SPAN)
