"""The one end of every span collector: span rows to the Arrow `span` table.

Collectors produce one tuple per span in `SPAN_ROW` order — times in µs since the epoch, the
JSON columns (attributes, resource, events, links) already as JSON text — and `span_table`
turns a request's tuples into columns at once (per-span Python work stays a single append).
"""

from __future__ import annotations

import json
import math
from json.encoder import c_make_encoder, encode_basestring
from datetime import datetime, timedelta

import pyarrow as pa

from models.batches import SPAN, TS

KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUSES = ("UNSET", "OK", "ERROR")
_EPOCH = datetime(1970, 1, 1)

JSON_COLUMNS = ("attributes", "resource", "events", "links")
TIME_COLUMNS = ("start_time", "end_time")
SPAN_ROW = tuple(f.name for f in SPAN)   # a row tuple's fields; start/end_time in µs
EMPTY_LIST = "[]"

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
if c_make_encoder is not None:
    # The C encoder made once: `JSONEncoder.encode` builds one per call, which costs more than
    # encoding a span's attributes. No circular-reference check (markers None): decoded
    # requests are trees.
    _c_encode = c_make_encoder(None, _ENCODER.default, encode_basestring, None, ":", ",",
                               False, False, False)

    def _encode(value) -> str:
        return "".join(_c_encode(value, 0))
else:
    _encode = _ENCODER.encode


def to_json(value) -> str:
    """Compact JSON text. NaN and ±Infinity (which a JSON column refuses) become the strings of
    the proto3 JSON mapping: "NaN", "Infinity", "-Infinity"."""
    try:
        return _encode(value)
    except ValueError:
        return _encode(_finite(value))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def iso_us(micros: int) -> str:
    """µs since the epoch as an ISO 8601 UTC time with microseconds (no zone suffix)."""
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")


def span_table(rows: list[tuple]) -> pa.Table:
    """Span row tuples (fields in `SPAN_ROW` order) as the `span` table, built column by column."""
    columns = list(zip(*rows)) if rows else [()] * len(SPAN)
    arrays = []
    for f, values in zip(SPAN, columns):
        if f.name in TIME_COLUMNS:
            arrays.append(pa.array(values, pa.int64()).cast(TS))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=SPAN)


def span_row(*, trace_id, span_id, parent_span_id=None, name, kind=None, service=None, start_us, end_us,
             status_code=None, status_message=None, attributes=None, resource=None, scope=None,
             events=None, links=None) -> tuple:
    """A row tuple from Python values (for collectors whose sources are not OTLP); the JSON
    columns are encoded here."""
    return (trace_id, span_id, parent_span_id, name, kind, service, start_us, end_us, status_code,
            status_message, *(None if v is None else to_json(v) for v in (attributes, resource)),
            scope, *(None if v is None else to_json(v) for v in (events, links)))
