"""XES written one element per line (as pm4py, ProM and most exporters write it), read with
vectorised parsing: each block of whole traces is split into lines and matched with Arrow's
regular expressions, trace and event membership come from running counts of the <trace> and
<event> lines, and times are parsed by DuckDB. Python touches single values only for traces
(their attributes), events with attributes beyond activity, time and resource, and bad events.

A file that is not shaped so (nested or list attributes, several elements on a line, entities
other than the five predefined ones) raises `NotLineShaped` at the first block that shows it,
saying how many traces were already handed over: collectors.xes reads the rest with lxml.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectors.errors import UnreadableSource
from collectors.log_values import Clock, as_json, typed
from collectors.mappings import PM4PY_ACTIVITY, PM4PY_RESOURCE, PM4PY_TIMESTAMP
from models.batches import TS, Batch, dead_letters
from models.vocabulary import TIMESTAMP_OUTLIER

BLOCK_BYTES = 16 << 20
ATTRIBUTE = r'^<(?P<kind>string|date|int|float|boolean|id)\s+key="(?P<key>[^"<]*)"\s+value="(?P<value>[^"<]*)"\s*/>$'
TAGS = r"</?(trace|event)\b"
# Times DuckDB parses exactly as Python's datetime.fromisoformat does; anything else goes to Python.
ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?"
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
# Keys whose declared type must be text for the vectorised path to read them as the tree reader does.
TEXT_KINDS = {PM4PY_ACTIVITY: ("string", "id"), PM4PY_RESOURCE: ("string", "id"),
              PM4PY_TIMESTAMP: ("date", "string")}


class NotLineShaped(Exception):
    def __init__(self, traces_done: int, events_done: int):
        super().__init__(f"not one element per line after trace {traces_done}")
        self.traces_done, self.events_done = traces_done, events_done


def read(fh, source: str, system: str, case_type: str, activities: dict, clock: Clock,
         zone: str, block_bytes: int = BLOCK_BYTES) -> Iterator[Batch]:
    """Batches of the XES stream `fh` (binary, decompressed), one per block of whole traces."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    state = {"traces": 0, "events": 0}
    try:
        for block in _trace_blocks(fh, state, block_bytes):
            batch = _block(con, block, state, source, system, case_type, activities, clock, zone)
            if batch is not None:
                yield batch
    finally:
        con.close()
    if state["traces"] == 0:
        raise NotLineShaped(0, 0)      # no trace found: the tree reader says what is wrong


def _trace_blocks(fh, state: dict, block_bytes: int) -> Iterator[bytes]:
    """Blocks of the stream that end after a </trace> line (the last one: whatever remains)."""
    carry = b""
    while True:
        try:
            raw = fh.read(block_bytes)
        except (OSError, EOFError, gzip.BadGzipFile):
            raise NotLineShaped(state["traces"], state["events"]) from None
        if not raw:
            if carry.strip().endswith(b"</log>") or carry.strip() == b"":
                if carry.strip():
                    yield carry
                return
            raise NotLineShaped(state["traces"], state["events"])   # truncated: the tree reader names it
        data = carry + raw
        end = data.rfind(b"</trace>")
        if end < 0:
            carry = data
            continue
        cut = data.find(b"\n", end)
        cut = len(data) if cut < 0 else cut + 1
        block, carry = data[:cut], data[cut:]
        yield block


def _block(con, block: bytes, state: dict, source: str, system: str, case_type: str,
           activities: dict, clock: Clock, zone: str) -> Batch | None:
    fail = NotLineShaped(state["traces"], state["events"])
    try:
        text = pa.array([block], pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        raise fail from None
    lines = pc.utf8_trim_whitespace(pc.list_flatten(pc.split_pattern(text, "\n")))
    is_ = {tag: pc.equal(lines, tag).to_numpy(zero_copy_only=False)
           for tag in ("<trace>", "</trace>", "<event>", "</event>")}
    in_trace = np.cumsum(is_["<trace>"], dtype=np.int64) - np.cumsum(is_["</trace>"], dtype=np.int64)
    in_event = np.cumsum(is_["<event>"], dtype=np.int64) - np.cumsum(is_["</event>"], dtype=np.int64)
    structural = is_["<trace>"] | is_["</trace>"] | is_["<event>"] | is_["</event>"]
    attr = pc.extract_regex(lines, ATTRIBUTE)
    is_attr = attr.is_valid().to_numpy(zero_copy_only=False)
    tagged = pc.match_substring_regex(lines, TAGS).to_numpy(zero_copy_only=False)
    inside = (in_trace == 1) & ~is_["<trace>"]
    empty = pc.equal(lines, "").to_numpy(zero_copy_only=False)
    if (in_trace.min(initial=0) < 0 or in_trace.max(initial=0) > 1 or in_event.min(initial=0) < 0
            or in_event.max(initial=0) > 1 or (in_event > in_trace).any() or in_trace[-1] != 0
            or (tagged & ~structural).any() or (inside & ~(structural | is_attr | empty)).any()
            or pc.any(pc.match_substring(lines, "<!--")).as_py() or pc.any(pc.match_substring(lines, "&#")).as_py()):
        raise fail

    trace_no = state["traces"] + np.cumsum(is_["<trace>"], dtype=np.int64)
    order = state["events"] + np.cumsum(is_["<event>"], dtype=np.int64)
    kind, key, value = (_unescaped(attr.field(f)) for f in ("kind", "key", "value"))
    in_ev = is_attr & (in_event == 1)
    in_tr = is_attr & (in_trace == 1) & (in_event == 0)
    ev_attrs = pa.table({"order": order[in_ev], "kind": kind.filter(in_ev), "key": key.filter(in_ev),
                         "value": value.filter(in_ev)})
    for k, kinds in TEXT_KINDS.items():
        used = pc.unique(ev_attrs.filter(pc.equal(ev_attrs["key"], k))["kind"]).to_pylist()
        if any(x not in kinds for x in used):
            raise fail

    if not is_["<trace>"].any():
        return None

    # Traces: their case id and attributes (typed in Python, like the tree reader).
    t_nos = trace_no[is_["<trace>"]]
    first_order = order[is_["<trace>"]] + 1          # the first event of each trace
    case_attrs: dict[int, dict] = {t: {} for t in t_nos.tolist()}
    for t, k, kd, v in zip(trace_no[in_tr].tolist(), key.filter(in_tr).to_pylist(),
                           kind.filter(in_tr).to_pylist(), value.filter(in_tr).to_pylist()):
        case_attrs[t][k] = typed(v, kd, clock)
    case_ids = [None if (c := a.pop(PM4PY_ACTIVITY, None)) is None else str(c) for a in case_attrs.values()]

    # Events: one per <event> line, with the trace it is in and its position there.
    ev_lines = np.flatnonzero(is_["<event>"])
    ev_order = order[ev_lines]
    ev_trace = trace_no[ev_lines]
    trace_index = np.searchsorted(t_nos, ev_trace)
    position = ev_order - first_order[trace_index] + 1
    n = len(ev_order)
    activity = _last_value(ev_attrs, PM4PY_ACTIVITY, ev_order, state["events"], n)
    stamp = _last_value(ev_attrs, PM4PY_TIMESTAMP, ev_order, state["events"], n)
    actor = _last_value(ev_attrs, PM4PY_RESOURCE, ev_order, state["events"], n)
    ts = _times(con, stamp, clock, zone)
    case_of_event = pa.array([case_ids[i] for i in trace_index.tolist()], pa.string())
    extras = _extra_attributes(ev_attrs, state["events"], n, clock)

    good = pc.and_(pc.and_(case_of_event.is_valid(), activity.is_valid()), ts.is_valid())
    bad_rows = np.flatnonzero(~good.to_numpy(zero_copy_only=False))
    letters = []
    if len(bad_rows):
        close_lines = np.flatnonzero(is_["</event>"])
        raw_lines = None
        for i in bad_rows.tolist():
            raw_lines = raw_lines or pc.split_pattern(text, "\n")[0].values.to_pylist()
            raw = "\n".join(raw_lines[ev_lines[i]:close_lines[i] + 1]).strip()
            t = int(ev_trace[i])
            s = stamp[i].as_py()
            reason = (f"trace {t} has no concept:name, expected the case id" if case_of_event[i].as_py() is None
                      else "no concept:name, expected the activity" if activity[i].as_py() is None
                      else "no time:timestamp, expected the event's time" if s is None
                      else f"time:timestamp {json.dumps(s)} is not an ISO 8601 time")
            letters.append((source, f"trace {t}, event {int(ev_order[i])}", raw, reason))

    good_np = good.to_numpy(zero_copy_only=False)
    ids = pc.binary_join_element_wise(pa.array([f"{system}:"] * n, pa.string()), case_of_event,
                                      pa.array([":"] * n, pa.string()), pa.array(position.astype(str)), "")
    if activities:
        activity = _renamed(activity, activities)
    latest = clock.latest_plausible
    outlier = pc.or_(pc.less(ts, pa.scalar(datetime(1990, 1, 1), TS)), pc.greater(ts, pa.scalar(latest, TS)))
    flags = pa.array([[TIMESTAMP_OUTLIER] if o else [] for o in outlier.to_pylist()], pa.list_(pa.string())) \
        if pc.any(outlier).as_py() else pa.array([[]] * n, pa.list_(pa.string()))
    event = pa.table({"event_id": ids, "activity": activity, "ts": ts,
                      "source_system": pa.array([system] * n, pa.string()), "actor": actor,
                      "attributes": extras, "flags": flags, "source_order": pa.array(ev_order, pa.int64())})
    event = event.filter(good_np)
    has_case = pa.array([c is not None for c in case_ids], pa.bool_())
    obj = pa.table({"object_id": pa.array(case_ids, pa.string()).filter(has_case),
                    "object_type": pa.array([case_type] * has_case.true_count, pa.string()),
                    "source_system": pa.array([system] * has_case.true_count, pa.string()),
                    "attributes": pa.array([as_json(a) for a, c in zip(case_attrs.values(), case_ids) if c is not None],
                                           pa.string())})
    eo = pa.table({"event_id": event["event_id"], "object_id": case_of_event.filter(good_np)})
    state["traces"] += len(t_nos)
    state["events"] += n
    return Batch(event=event, object=obj, event_object=eo, dead_letter=dead_letters(letters) if letters else None)


def _unescaped(arr: pa.Array) -> pa.Array:
    if not pc.any(pc.match_substring(arr, "&")).as_py():
        return arr
    for entity, char in ENTITIES:
        arr = pc.replace_substring(arr, entity, char)
    return arr


def _last_value(attrs: pa.Table, key: str, orders: np.ndarray, base: int, n: int) -> pa.Array:
    """Per event (by order), the value of its last attribute `key` (a repeated key: the last wins)."""
    picked = attrs.filter(pc.equal(attrs["key"], key))
    out = np.full(n, -1, dtype=np.int64)
    idx = picked["order"].to_numpy() - base - 1
    out[idx] = np.arange(len(idx))               # later rows overwrite earlier ones
    present = out >= 0
    values = picked["value"].combine_chunks() if picked.num_rows else pa.array([], pa.string())
    if not len(values):
        return pa.nulls(n, pa.string())
    return pc.take(values, pa.array(np.where(present, out, 0), pa.int64(), mask=~present))


def _times(con, stamp: pa.Array, clock: Clock, zone: str) -> pa.Array:
    """`stamp` as naive UTC; ISO forms by DuckDB, the rest (and what DuckDB refuses) by Python."""
    con.register("stamps", pa.table({"t": stamp}))
    try:
        naive = "t::TIMESTAMP" if zone == "UTC" else f"timezone('UTC', timezone('{zone}', t::TIMESTAMP))"
        ts = con.sql(f"""
            SELECT CASE WHEN regexp_full_match(t, '{ISO}(Z|[+-]\\d{{2}}:\\d{{2}})')
                             THEN timezone('UTC', try_cast(t AS TIMESTAMPTZ))
                        WHEN regexp_full_match(t, '{ISO}') THEN {naive} END AS ts
            FROM stamps""").to_arrow_table()["ts"].combine_chunks().cast(TS)
    finally:
        con.unregister("stamps")
    missing = pc.and_(ts.is_null(), stamp.is_valid())
    if not pc.any(missing).as_py():
        return ts
    fixed = [clock.utc(s) if m else None for s, m in zip(stamp.to_pylist(), missing.to_pylist())]
    return pc.if_else(missing, pa.array(fixed, TS), ts)


def _extra_attributes(attrs: pa.Table, base: int, n: int, clock: Clock) -> pa.Array:
    """Each event's attributes beyond activity, time and resource, typed, as canonical JSON."""
    reserved = pa.array([PM4PY_ACTIVITY, PM4PY_TIMESTAMP, PM4PY_RESOURCE])
    extra = attrs.filter(pc.invert(pc.is_in(attrs["key"], reserved)))
    out = ["{}"] * n
    if not extra.num_rows:
        return pa.array(out, pa.string())
    values: dict[int, dict] = {}
    for o, kd, k, v in zip(extra["order"].to_pylist(), extra["kind"].to_pylist(), extra["key"].to_pylist(),
                           extra["value"].to_pylist()):
        values.setdefault(o, {})[k] = typed(v, kd, clock)
    for o, d in values.items():
        out[o - base - 1] = as_json(d)
    return pa.array(out, pa.string())


def _renamed(activity: pa.Array, activities: dict) -> pa.Array:
    source = pa.array(list(activities), pa.string())
    index = pc.index_in(activity, value_set=source)
    mapped = pc.take(pa.array(list(activities.values()), pa.string()), index)
    return pc.coalesce(mapped, activity)
