"""The Arrow shapes that collectors hand to the store.

A collector never touches the database: it yields `Batch`es whose tables have these schemas
(missing optional columns are filled with nulls by `conform`). The store adds `batch_id` and
deduplicates. Timestamps are UTC, microsecond precision, without zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pyarrow as pa

TS = pa.timestamp("us")

EVENT = pa.schema([
    ("event_id", pa.string()),
    ("activity", pa.string()),
    ("ts", TS),
    ("source_system", pa.string()),
    ("facility", pa.string()),
    ("actor", pa.string()),
    ("actor_kind", pa.string()),
    ("attributes", pa.string()),      # a JSON object
    ("flags", pa.list_(pa.string())),
    ("source_order", pa.int64()),
])

OBJECT = pa.schema([
    ("object_id", pa.string()),
    ("object_type", pa.string()),
    ("source_system", pa.string()),
    ("attributes", pa.string()),
])

OBJECT_CHANGE = pa.schema([
    ("object_id", pa.string()),
    ("ts", TS),
    ("attribute", pa.string()),
    ("value", pa.string()),           # JSON value
])

EVENT_OBJECT = pa.schema([
    ("event_id", pa.string()),
    ("object_id", pa.string()),
    ("qualifier", pa.string()),
])

OBJECT_OBJECT = pa.schema([
    ("source_id", pa.string()),
    ("target_id", pa.string()),
    ("qualifier", pa.string()),
])

SPAN = pa.schema([
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
    ("parent_span_id", pa.string()),
    ("name", pa.string()),
    ("kind", pa.string()),
    ("service", pa.string()),
    ("start_time", TS),
    ("end_time", TS),
    ("status_code", pa.string()),
    ("status_message", pa.string()),
    ("attributes", pa.string()),
    ("resource", pa.string()),
    ("scope", pa.string()),
    ("events", pa.string()),
    ("links", pa.string()),
])

DEAD_LETTER = pa.schema([
    ("source", pa.string()),
    ("position", pa.string()),
    ("raw", pa.string()),
    ("reason", pa.string()),
    ("context", pa.string()),         # optional JSON: what re-reading `raw` needs (replay)
])

# table name in schema.sql -> Arrow schema of what a collector provides
SCHEMAS: dict[str, pa.Schema] = {
    "event": EVENT,
    "object": OBJECT,
    "object_change": OBJECT_CHANGE,
    "event_object": EVENT_OBJECT,
    "object_object": OBJECT_OBJECT,
    "span": SPAN,
    "dead_letter": DEAD_LETTER,
}

# Columns that must not be null; a row missing one is a collector bug, not bad input.
REQUIRED = {
    "event": ("event_id", "activity", "ts", "source_system", "source_order"),
    "object": ("object_id", "object_type"),
    "object_change": ("object_id", "ts", "attribute"),
    "event_object": ("event_id", "object_id"),
    "object_object": ("source_id", "target_id"),
    "span": ("trace_id", "span_id", "name", "start_time", "end_time"),
    "dead_letter": ("source", "position", "raw", "reason"),
}


@dataclass(frozen=True)
class Batch:
    """What one chunk of a source turned into. Any table may be absent."""

    event: pa.Table | None = None
    object: pa.Table | None = None
    object_change: pa.Table | None = None
    event_object: pa.Table | None = None
    object_object: pa.Table | None = None
    span: pa.Table | None = None
    dead_letter: pa.Table | None = None

    def tables(self) -> dict[str, pa.Table]:
        """The non-empty tables, conformed to their schemas."""
        out = {}
        for f in fields(self):
            table = getattr(self, f.name)
            if table is not None and table.num_rows:
                out[f.name] = conform(f.name, table)
        return out


def conform(name: str, table: pa.Table) -> pa.Table:
    """Select, order and cast `table`'s columns to the schema of `name`; absent ones become null."""
    schema = SCHEMAS[name]
    if table.schema == schema:   # as collectors build them: nothing to do (a cast per column cost
        return table             # 0.35 µs a span on the receiver's writer thread)
    columns = []
    for f in schema:
        if f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def dead_letters(rows: list[tuple[str, str, str, str]], context: str | None = None) -> pa.Table:
    """(source, position, raw, reason) tuples as a dead_letter table; `context` (JSON, the same
    for every row) says what re-reading a raw record needs, e.g. a CSV's header and delimiter."""
    cols = [list(c) for c in zip(*rows)] if rows else [[], [], [], []]
    cols.append([context] * len(cols[0]))
    return pa.Table.from_arrays([pa.array(c, pa.string()) for c in cols], schema=DEAD_LETTER)


@dataclass
class LoadResult:
    """What a load did, as the CLI and the receiver report it."""

    batch_id: str
    source: str
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    counts: dict[str, int] = field(default_factory=dict)   # new rows per table

    def as_dict(self) -> dict:
        return {"batch_id": self.batch_id, "source": self.source, "accepted": self.accepted,
                "duplicates": self.duplicates, "rejected": self.rejected, "new_rows": self.counts}
