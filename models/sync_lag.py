"""Sync lag: when each target system committed a business event, how late, and why.

Sync lag of an event into a target = end of the span that wrote it there (the first successful
CLIENT write: no ERROR status, HTTP status < 400) - the event's time at the source (its ts in
the state log, else the start of the trace's root span). `sync_hop` holds one row per event x
target, kept by `refresh` at load for the traces and events a load touched; the questions below
read it. An event published into a target but not committed there is *unsynced* once it is
older than a tolerance.

Defaults (override per call):
- `SLA_SECONDS` = 900: an event not committed within 15 minutes counts as over SLA. Queue
  consumers commit in seconds, two-minute pollers within ~2-3 minutes, a few 429 retries in
  under ten; 15 minutes separates trouble from ordinary polling.
- `TOLERANCE_SECONDS` = 14,400: published, not committed, and older than 4 hours = unsynced.
  It outlasts the connectors' retry schedule (1, 2, 4, 8, 16, then every 30 minutes) through a
  short outage, so what it lists is stuck rather than still on its way.
- `as_of` = None: ages are measured to the last span the store has seen for any hop, not to
  the wall clock, so a replayed or simulated history reads the same as a live one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa

from models import vocabulary as v
from models.filters import ALL, Filters
from models.queries import composed_table as _table, execute, sql

SLA_SECONDS = 900
TOLERANCE_SECONDS = 4 * 3600
BUCKETS = ("hour", "day", "week", "month")

# JSON paths of the span attributes refresh reads, in the order sync_lag.sql indexes them
_PATHS = [f'$."{name}"' for name in (
    v.EVENT_ID, v.EVENT_TYPE, v.OBJECT_TYPE, v.OBJECT_ID, v.SOURCE_SYSTEM, v.TARGET_SYSTEM,
    v.FACILITY_ID, v.SUPPLIER_ID, v.HTTP_STATUS_CODE)]
_HTTP_PATH = f'$."{v.HTTP_STATUS_CODE}"'


# -- keeping sync_hop -------------------------------------------------------------------------
def refresh(con, first_batch: str | None = None, last_batch: str | None = None) -> None:
    """Recompute the hops of the traces the loads with batch ids in [first_batch, last_batch]
    touched, and take the state-log time of events they brought; None rebuilds every hop."""
    scope = {"first": first_batch, "last": last_batch}
    execute(con, "sync_lag.refresh_parse", **scope, paths=_PATHS)
    execute(con, "sync_lag.refresh_add_earlier_traces", paths=_PATHS)
    execute(con, "sync_lag.refresh_delete")
    execute(con, "sync_lag.refresh_insert")
    if first_batch is not None:
        execute(con, "sync_lag.refresh_events", **scope)
    execute(con, "sync_lag.refresh_drop")


# -- questions --------------------------------------------------------------------------------
def hops(con, *, as_of: datetime | None = None, filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """One row per business event x target system: event_id, event_type, object_type,
    object_id, source_system, target_system, facility, supplier, event_time, commit_time,
    lag_s (NULL when not committed), age_s (as_of - event_time, only when not committed),
    attempts, retries, got_429, got_5xx, trace_id, service, commit_span_id."""
    return _table(con, "sync_lag.hops", as_of=as_of, **_scope(filters, source, target))


def by_system_pair(con, sla_seconds: float = SLA_SECONDS, *, tolerance_seconds: float = TOLERANCE_SECONDS,
                   as_of=None, filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """Per source -> target: events, committed, p50_s/p95_s/p99_s/max_lag_s (committed
    events), share_over_sla (committed later than the SLA, or not committed and older than it),
    unsynced (not committed, older than the tolerance). Worst p95 first."""
    return _table(con, "sync_lag.by_system_pair", sla=sla_seconds, tolerance=tolerance_seconds,
                  as_of=as_of, **_scope(filters, source, target))


def by_facility(con, sla_seconds: float = SLA_SECONDS, **kw) -> pa.Table:
    """`by_system_pair`'s figures per facility (narrow with source=/target=)."""
    return _by_group(con, "facility", sla_seconds, **kw)


def by_supplier(con, sla_seconds: float = SLA_SECONDS, **kw) -> pa.Table:
    """`by_system_pair`'s figures per supplier (narrow with source=/target=)."""
    return _by_group(con, "supplier", sla_seconds, **kw)


def over_time(con, bucket: str = "hour", *, filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """Per time bucket of the event time (hour, day, week or month) and system pair: events,
    committed, p50_s, p95_s, p99_s, max_lag_s, events_429, events_5xx."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket={bucket!r}: choose one of {', '.join(BUCKETS)}")
    return _table(con, "sync_lag.over_time", bucket=bucket,
                  **_scope(filters, source, target))


def by_hour_of_week(con, timezone: str = "UTC", *, filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """Per local day_of_week (ISO, 1 = Monday) and hour of the event time in `timezone` (an
    IANA name; pass the target's zone to see its busy hours) and system pair: events,
    events_429, p50_s, p95_s."""
    return _table(con, "sync_lag.by_hour_of_week", timezone=timezone,
                  **_scope(filters, source, target))


def business_hours(con, timezone: str = "UTC", open_hour: int = 8, close_hour: int = 18, *,
                   filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """Per system pair, inside (business_hours = true: Monday-Friday, open_hour <= local hour
    < close_hour in `timezone`) and outside business hours: events, events_429, share_429,
    p50_s, p95_s."""
    return _table(con, "sync_lag.business_hours", timezone=timezone, open_hour=open_hour,
                  close_hour=close_hour, **_scope(filters, source, target))


def unsynced(con, tolerance_seconds: float = TOLERANCE_SECONDS, as_of: datetime | None = None, *,
             filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """Events published into a target, not committed there, and older than the tolerance at
    `as_of` (default: the last span seen): event and object ids, systems, facility, supplier,
    event_time, age_s, attempts, got_429, got_5xx, trace_id, service. Oldest first."""
    return _table(con, "sync_lag.unsynced", tolerance=tolerance_seconds, as_of=as_of,
                  **_scope(filters, source, target))


def slowest(con, n: int = 20, *, filters: Filters = ALL, source=None, target=None) -> pa.Table:
    """The `n` committed hops with the largest lag (columns as `hops`, without age)."""
    return _table(con, "sync_lag.slowest", n=n, **_scope(filters, source, target))


def critical_path(con, trace_id: str, target: str | None = None) -> pa.Table:
    """The spans of one trace as a waterfall, with the critical path of its sync lag.

    The path is walked back from the commit span (or, for an unsynced event, the span that ended
    last): the span itself and its children, then the earlier siblings under the same parent
    (latest-ending first), then the parent, up to the root; the time between the event at the
    source and the root's start counts for the root. Each span on the path gets its self time
    (its time on the path not covered by its children) and the wait before it (the gap since the
    path's previous span ended: a queue or poll wait, a Retry-After between attempts). Spans of
    one step (same service and name: all attempts of one write) add up; the step that
    contributed most is marked `critical`.

    Columns: span_id, parent_span_id, name, kind, service, depth, start_offset_s (from the event
    time), duration_s, status_code, http_status, on_path, self_s, wait_s, contribution_s,
    step_s, critical. Empty when the trace is unknown.
    """
    hop = con.sql(sql("sync_lag.trace_hop"), params={"trace_id": trace_id, "target": target}).fetchall()
    spans = con.sql(sql("sync_lag.trace_spans"),
                    params={"trace_id": trace_id, "http_path": _HTTP_PATH}).fetchall()
    if not spans:
        return pa.Table.from_pylist([], schema=_PATH_SCHEMA)
    rows = [dict(zip(("span_id", "parent_span_id", "name", "kind", "service", "start", "end",
                      "status_code", "http_status"), s)) for s in spans]
    by_id = {r["span_id"]: r for r in rows}
    if hop and hop[0][4] in by_id:
        end_span, origin = by_id[hop[0][4]], hop[0][2]
    else:
        end_span = max(rows, key=lambda r: (r["end"], r["start"]))
        origin = hop[0][2] if hop else None
    origin = origin or min(r["start"] for r in rows)    # the event's time at the source
    return _waterfall(rows, by_id, end_span, origin)


# -- the critical-path walk (one trace: a handful of spans) ----------------------------------
_PATH_SCHEMA = pa.schema([
    ("span_id", pa.string()), ("parent_span_id", pa.string()), ("name", pa.string()),
    ("kind", pa.string()), ("service", pa.string()), ("depth", pa.int32()),
    ("start_offset_s", pa.float64()), ("duration_s", pa.float64()), ("status_code", pa.string()),
    ("http_status", pa.int32()), ("on_path", pa.bool_()), ("self_s", pa.float64()),
    ("wait_s", pa.float64()), ("contribution_s", pa.float64()), ("step_s", pa.float64()),
    ("critical", pa.bool_()),
])


def _waterfall(rows, by_id, end_span, origin) -> pa.Table:
    children: dict[str, list] = {}
    for r in rows:
        if r["parent_span_id"] in by_id:
            children.setdefault(r["parent_span_id"], []).append(r)
    self_s = {r["span_id"]: 0.0 for r in rows}
    wait_s = dict(self_s)
    on_path: set[str] = set()
    sec = lambda a, b: max((b - a).total_seconds(), 0.0)

    def subtree(span, cursor):
        """Critical path inside `span` up to `cursor`: latest-ending child first, then back."""
        on_path.add(span["span_id"])
        t = min(span["end"], cursor)
        kids = [k for k in children.get(span["span_id"], []) if k["start"] < t]
        for k in sorted(kids, key=lambda k: min(k["end"], t), reverse=True):
            if k["start"] >= t:
                continue
            k_end = min(k["end"], t)
            self_s[span["span_id"]] += sec(k_end, t)
            subtree(k, k_end)
            t = k["start"]
        self_s[span["span_id"]] += sec(span["start"], t)

    # the commit span and its children, then back through its parents
    subtree(end_span, end_span["end"])
    node, t, after = end_span, end_span["start"], end_span
    while node["parent_span_id"] in by_id:
        parent = by_id[node["parent_span_id"]]
        earlier = [k for k in children[parent["span_id"]]
                   if k["span_id"] not in on_path and k["end"] <= t]
        for k in sorted(earlier, key=lambda k: k["end"], reverse=True):
            if k["end"] > t:
                continue
            wait_s[after["span_id"]] += sec(k["end"], t)
            subtree(k, k["end"])
            t, after = k["start"], k
        p_end = min(parent["end"], t)
        wait_s[after["span_id"]] += sec(p_end, t)
        on_path.add(parent["span_id"])
        self_s[parent["span_id"]] += sec(parent["start"], p_end)
        node, t, after = parent, parent["start"], parent
    wait_s[node["span_id"]] += sec(origin, t)      # the source event before the root began

    contribution = {s: self_s[s] + wait_s[s] for s in self_s}
    step = lambda r: (r["service"], r["name"])
    steps: dict[tuple, float] = {}
    for r in rows:
        if r["span_id"] in on_path:
            steps[step(r)] = steps.get(step(r), 0.0) + contribution[r["span_id"]]
    worst = max(steps, key=steps.get) if steps else None

    def depth(r):
        d = 0
        while r["parent_span_id"] in by_id:
            r, d = by_id[r["parent_span_id"]], d + 1
        return d

    out = []
    for r in sorted(rows, key=lambda r: (r["start"], r["end"], r["span_id"])):
        sid, path = r["span_id"], r["span_id"] in on_path
        out.append({
            "span_id": sid, "parent_span_id": r["parent_span_id"], "name": r["name"],
            "kind": r["kind"], "service": r["service"], "depth": depth(r),
            "start_offset_s": (r["start"] - origin).total_seconds(),
            "duration_s": (r["end"] - r["start"]).total_seconds(),
            "status_code": r["status_code"], "http_status": r["http_status"], "on_path": path,
            "self_s": self_s[sid] if path else None, "wait_s": wait_s[sid] if path else None,
            "contribution_s": contribution[sid] if path else None,
            "step_s": steps.get(step(r)) if path else None,
            "critical": path and step(r) == worst,
        })
    return pa.Table.from_pylist(out, schema=_PATH_SCHEMA)


# -- plumbing ---------------------------------------------------------------------------------
def _by_group(con, group, sla_seconds, *, tolerance_seconds=TOLERANCE_SECONDS, as_of=None,
              filters: Filters = ALL, source=None, target=None) -> pa.Table:
    t = _table(con, "sync_lag.by_group", group=group, sla=sla_seconds, tolerance=tolerance_seconds,
               as_of=as_of, **_scope(filters, source, target))
    return t.rename_columns([group if c == "grp" else c for c in t.column_names])


def _scope(filters: Filters, source, target) -> dict:
    """The viewer's filters (on the event: facility, supplier, event day) and a system pair."""
    f = filters.params()
    return {"facilities": f["facilities"], "suppliers": f["suppliers"], "source": source,
            "target": target, "since": filters.start,
            "until": filters.end + timedelta(days=1) if filters.end else None}
