"""What the store holds, per facility and source system, and the lineage of every load."""

from __future__ import annotations

import pyarrow as pa

from models.filters import ALL, Filters
from models.queries import execute, table as _table


def counts(con) -> dict[str, int]:
    """Rows per table: events, objects, spans, dead letters, loads, …"""
    return _table(con, "health.counts").to_pylist()[0]


def events_by_facility_system(con, filters: Filters = ALL) -> pa.Table:
    """Events, activities and time range per facility and source system."""
    return _table(con, "health.events_by_facility_system", **filters.params())


def objects_by_type(con) -> pa.Table:
    return _table(con, "health.objects_by_type")


def spans_by_service(con, filters: Filters = ALL) -> pa.Table:
    """Spans, errors and the time span of the traffic per integration service."""
    return _table(con, "health.spans_by_service", **filters.params())


def ingest_batches(con, limit: int = 200) -> pa.Table:
    """The most recent loads first."""
    return _table(con, "health.ingest_batches", limit=limit)


def dead_letters_by_reason(con) -> pa.Table:
    """Rejected records not yet replayed, grouped by source and reason."""
    return _table(con, "health.dead_letters_by_reason")


def duplicates_by_source(con) -> pa.Table:
    """Per source: records dropped as already stored or repeated, accepted, loads."""
    return _table(con, "health.duplicates_by_source")


def clock_skew(con, filters: Filters = ALL) -> pa.Table:
    """Per source system: median and 5th-percentile offset (s) between the middleware seeing an
    event published and the source's own time for it; events stamped ahead of the middleware.
    The period selects events by the source's time."""
    return _table(con, "health.clock_skew", **filters.params())


def span_coverage(con, filters: Filters = ALL) -> pa.Table:
    """Per case notion: cases, cases with at least one span-carried event, coverage (share)."""
    return _table(con, "health.span_coverage", **filters.params())


def count_traffic(con) -> None:
    """service_day counted again from every span in span_p2p (a store upgraded to version 5)."""
    for block in ("forget_service_days", "keep_service_days"):
        execute(con, f"health.{block}", first=None, last=None)


def count_coverage(con) -> None:
    """case_coverage_count counted again from every case_coverage row (a store upgraded to version 6)."""
    for block in ("forget_coverage_counts", "recount_coverage"):
        execute(con, f"health.{block}", first=None)


def refresh(con, first_batch: str | None = None, last_batch: str | None = None) -> None:
    """Copy the p2p.* keys of the spans the loads with batch ids in [first_batch, last_batch]
    stored into span_p2p and count them into service_day, and judge again the span coverage of
    the cases they touched or whose events their spans carried, taking them off
    case_coverage_count as they were and adding them as they are (None: every span and case).
    Inside the caller's transaction; reads case_event and sync_hop, so runs after their
    refreshes, and touched_object (models/store.py)."""
    scope = "coverage_scope" if first_batch is not None else "rebuild_coverage_scope"
    for block in ("forget_spans", "keep_spans", "forget_service_days", "keep_service_days",
                  scope, "old_coverage", "forget_coverage_counts", "uncount_coverage", "forget_coverage",
                  "keep_coverage", "add_coverage", "count_coverage", "coverage_done"):
        execute(con, f"health.{block}", first=first_batch, last=last_batch)

