"""The process that really happened: directly-follows graphs, variants and throughput per case.

A case is one object of a chosen type (invoice, po_line, … or "case" from a flat log); its events
are those related to it in event_object, in the order ts, source_order, event_id. The order, the
next activity and each case's variant are derived once per load (`refresh`, tables case_event and
case_variant), so the questions below are plain aggregates over them.

Master data (suppliers, items, contracts: vocabulary.MASTER_DATA) are no case notion.

Every question takes the shared `Filters` (keyword `filters`) and, as a shortcut, `facilities`
(which, when given, replaces the filters' facilities). A case whose events name one facility
(events naming none go with it) is that facility's, whole; a case whose events name several
keeps those of the facilities in scope (as if the log had been filtered by facility first). The period (start, end days) selects the cases whose first event
lies in it, whole. Suppliers, categories and departments do not apply to the case flow.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from models.filters import ALL, Filters
from models import vocabulary as v
from models.queries import composed_table as _table, execute, scalar


def refresh(con, first_batch: str, last_batch: str) -> None:
    """Re-derive case_event and case_variant for the objects the loads with batch ids in
    [first_batch, last_batch] touched (touched_object), inside the caller's transaction
    (models/store.py)."""
    if scalar(con, "mining.refresh_touched_count"):     # a load of spans only touches no case
        _derive(con)


def rebuild(con) -> None:
    """Derive case_event and case_variant afresh for every object (after the derivation changed,
    or for a store loaded before these tables existed). Outside a catch-up (it makes its own
    touched_object)."""
    execute(con, "mining.rebuild_touched")
    _derive(con)
    execute(con, "mining.rebuild_done")


def _derive(con) -> None:
    for block in ("refresh_forget_events", "refresh_forget_variants", "refresh_events", "refresh_variants"):
        execute(con, f"mining.{block}", master_types=list(v.MASTER_DATA))


def object_types(con, facilities: list[str] | None = None, *, filters: Filters = ALL) -> pa.Table:
    """Case notions on offer: object_type, cases, events, variants; most cases first."""
    return _table(con, "mining.object_types", object_type=None, **_scope(filters, facilities))


def dfg(con, object_type: str, facilities: list[str] | None = None, *, filters: Filters = ALL,
        performance: bool = True) -> pa.Table:
    """Directly-follows graph: source, target, count, and with `performance` the median_s,
    mean_s and p90_s seconds between the two events. Most frequent first."""
    block = "mining.edges" if performance else "mining.edge_counts"
    return _table(con, block, object_type=object_type, **_scope(filters, facilities)).drop_columns(["object_type"])


def start_activities(con, object_type: str, facilities: list[str] | None = None, *,
                     filters: Filters = ALL) -> dict[str, int]:
    """How many cases begin with each activity."""
    return _endpoints(con, object_type, _scope(filters, facilities), "starts")


def end_activities(con, object_type: str, facilities: list[str] | None = None, *,
                   filters: Filters = ALL) -> dict[str, int]:
    """How many cases end with each activity."""
    return _endpoints(con, object_type, _scope(filters, facilities), "ends")


def start_end_activities(con, object_type: str, facilities: list[str] | None = None, *,
                         filters: Filters = ALL) -> tuple[dict[str, int], dict[str, int]]:
    """`start_activities` and `end_activities` from one pass over the cases."""
    t = _table(con, "mining.endpoints", object_type=object_type, **_scope(filters, facilities))
    return _counts(t, "starts"), _counts(t, "ends")


def variants(con, object_type: str, facilities: list[str] | None = None, *,
             filters: Filters = ALL) -> pa.Table:
    """Variants: variant (list of activities), cases, share (of the type's cases in scope),
    median_throughput_s, mean_throughput_s (first to last event). Most frequent first."""
    return _table(con, "mining.variants", object_type=object_type, **_scope(filters, facilities))


def object_centric_dfg(con, facilities: list[str] | None = None, *, filters: Filters = ALL) -> pa.Table:
    """The OC-DFG: every object type's directly-follows edges side by side (object_type, source,
    target, count, median_s, mean_s, p90_s). An activity that touches objects of several types
    appears in several types' edges; that is where the flows meet."""
    return _table(con, "mining.edges", object_type=None, **_scope(filters, facilities))


def object_centric_endpoints(con, facilities: list[str] | None = None, *,
                             filters: Filters = ALL) -> pa.Table:
    """Per object type and activity, the cases that start (starts) and end (ends) there."""
    return _table(con, "mining.endpoints", object_type=None, **_scope(filters, facilities))


def _scope(filters: Filters, facilities: list[str] | None) -> dict:
    """The parameters the mining SQL binds: facilities, start, end."""
    p = filters.params()
    return {"facilities": list(facilities) if facilities is not None else p["facilities"],
            "start": p["start"], "end": p["end"]}


def _endpoints(con, object_type, scope, column) -> dict[str, int]:
    return _counts(_table(con, "mining.endpoints", object_type=object_type, **scope), column)


def _counts(t: pa.Table, column: str) -> dict[str, int]:
    t = t.filter(pc.greater(t.column(column), 0))
    return dict(zip(t.column("activity").to_pylist(), t.column(column).to_pylist()))
