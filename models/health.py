"""What the store holds, per facility and source system, and the lineage of every load."""

from __future__ import annotations

import pyarrow as pa

from models.filters import ALL, Filters
from models.queries import table as _table


def counts(con) -> dict[str, int]:
    """Rows per table: events, objects, spans, dead letters, loads, …"""
    return _table(con, "health.counts").to_pylist()[0]


def events_by_facility_system(con, filters: Filters = ALL) -> pa.Table:
    """Events, activities and time range per facility and source system."""
    return _table(con, "health.events_by_facility_system", **filters.params())


def objects_by_type(con) -> pa.Table:
    return _table(con, "health.objects_by_type")


def spans_by_service(con, filters: Filters = ALL) -> pa.Table:
    """Spans, traces and errors per integration service."""
    return _table(con, "health.spans_by_service", **filters.params())


def ingest_batches(con, limit: int = 200) -> pa.Table:
    """The most recent loads first."""
    return _table(con, "health.ingest_batches", limit=limit)


def dead_letters_by_reason(con) -> pa.Table:
    """Rejected records not yet replayed, grouped by source and reason."""
    return _table(con, "health.dead_letters_by_reason")
