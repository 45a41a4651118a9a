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
    shape = _shape(lines, fail)
    if not shape["<trace>"].any():
        return None
    trace_no = state["traces"] + np.cumsum(shape["<trace>"], dtype=np.int64)
    order = state["events"] + np.cumsum(shape["<event>"], dtype=np.int64)
    attrs, line = shape["attrs"], shape["attr_line"]
    kind, key, value = attrs.field("kind"), _unescaped(attrs.field("key")), _unescaped(attrs.field("value"))
    in_ev = shape["in_event"][line] == 1
    in_tr = (shape["in_trace"][line] == 1) & ~in_ev
    ev_attrs = pa.table({"order": order[line][in_ev], "kind": kind.filter(in_ev), "key": key.filter(in_ev),
                         "value": value.filter(in_ev)})
    for k, kinds in TEXT_KINDS.items():
        used = pc.unique(ev_attrs.filter(pc.equal(ev_attrs["key"], k))["kind"]).to_pylist()
        if any(x not in kinds for x in used):
            raise fail

    # Traces: their case id and attributes (typed in Python, like the tree reader).
    t_nos = trace_no[shape["<trace>"]]
    case_attrs: dict[int, dict] = {t: {} for t in t_nos.tolist()}
    for t, k, kd, v in zip(trace_no[line][in_tr].tolist(), key.filter(in_tr).to_pylist(),
                           kind.filter(in_tr).to_pylist(), value.filter(in_tr).to_pylist()):
        case_attrs[t][k] = typed(v, kd, clock)
    case_ids = [None if (c := a.pop(PM4PY_ACTIVITY, None)) is None else str(c) for a in case_attrs.values()]
    has_case = [c is not None for c in case_ids]
    obj = pa.table({"object_id": pa.array([c for c in case_ids if c is not None], pa.string()),
                    "object_type": pa.repeat(pa.scalar(case_type), sum(has_case)),
                    "source_system": pa.repeat(pa.scalar(system), sum(has_case)),
                    "attributes": pa.array([as_json(a) for a, ok in zip(case_attrs.values(), has_case) if ok],
                                           pa.string())})

    # Events: one per <event> line, with its trace and its position there (bad events count too).
    ev_lines = np.flatnonzero(shape["<event>"])
    ev_order, ev_trace = order[ev_lines], trace_no[ev_lines]
    trace_index = np.searchsorted(t_nos, ev_trace)
    position = ev_order - (order[shape["<trace>"]][trace_index])
    base, n = state["events"], len(ev_order)
    activity, stamp, actor = (_last_value(ev_attrs, k, base, n)
                              for k in (PM4PY_ACTIVITY, PM4PY_TIMESTAMP, PM4PY_RESOURCE))
    ts = _times(con, stamp, clock, zone)
    case_of_event = pc.take(pa.array(case_ids, pa.string()), pa.array(trace_index))
    good = pc.and_(pc.and_(case_of_event.is_valid(), activity.is_valid()), ts.is_valid())
    letters = _bad_events(good, text, shape, ev_lines, ev_trace, ev_order, case_of_event, activity, stamp, source)
    ids = pc.binary_join_element_wise(f"{system}:", case_of_event, ":", pc.cast(pa.array(position), pa.string()), "")
    event = pa.table({"event_id": ids, "activity": _renamed(activity, activities) if activities else activity,
                      "ts": ts, "source_system": pa.repeat(pa.scalar(system), n), "actor": actor,
                      "attributes": _extra_attributes(ev_attrs, base, n, clock), "flags": _flags(ts, clock),
                      "source_order": pa.array(ev_order, pa.int64())})
    if letters:
        event = event.filter(good)
        case_of_event = case_of_event.filter(good)
    eo = pa.table({"event_id": event["event_id"], "object_id": case_of_event})
    state["traces"] += len(t_nos)
    state["events"] += n
    return Batch(event=event, object=obj, event_object=eo, dead_letter=dead_letters(letters) if letters else None)


def _shape(lines: pa.Array, fail: NotLineShaped) -> dict:
    """Where the structure lines are, the running depth of trace and event, and the attributes
    (`attrs`: kind, key, value; `attr_line`: their line); raises `fail` unless the block is whole
    traces of one element per line."""
    out = {tag: pc.equal(lines, tag).to_numpy(zero_copy_only=False)
           for tag in ("<trace>", "</trace>", "<event>", "</event>")}
    in_trace = np.cumsum(out["<trace>"], dtype=np.int8) - np.cumsum(out["</trace>"], dtype=np.int8)
    in_event = np.cumsum(out["<event>"], dtype=np.int8) - np.cumsum(out["</event>"], dtype=np.int8)
    rest = np.flatnonzero(~(out["<trace>"] | out["</trace>"] | out["<event>"] | out["</event>"]))
    matched = pc.extract_regex(lines.take(pa.array(rest)), ATTRIBUTE)
    is_attr = matched.is_valid().to_numpy(zero_copy_only=False)
    attrs = matched.filter(is_attr)
    other_line = rest[~is_attr]           # the header, blank lines and what breaks the shape
    others = lines.take(pa.array(other_line))
    if (in_trace.min(initial=0) < 0 or in_trace.max(initial=0) > 1 or in_event.min(initial=0) < 0
            or in_event.max(initial=0) > 1 or (in_event > in_trace).any() or in_trace[-1] != 0
            or pc.any(pc.not_equal(others.filter(in_trace[other_line] == 1), "")).as_py()
            or pc.any(pc.match_substring_regex(others, TAGS)).as_py()
            or pc.any(pc.and_(pc.match_substring_regex(others, "<!--|-->"),      # comments on one line only
                              pc.invert(pc.match_substring_regex(others, "^<!--.*-->$")))).as_py()
            or pc.any(pc.match_substring(attrs.field("value"), "&#")).as_py()):
        raise fail
    out.update(in_trace=in_trace, in_event=in_event, attrs=attrs, attr_line=rest[is_attr])
    return out


def _bad_events(good, text, shape, ev_lines, ev_trace, ev_order, case_of_event, activity, stamp, source) -> list:
    """Dead letters of the events that cannot be stored, each with its lines as written."""
    bad = np.flatnonzero(~good.to_numpy(zero_copy_only=False))
    if not len(bad):
        return []
    close_lines = np.flatnonzero(shape["</event>"])
    raw_lines = pc.split_pattern(text, "\n")[0].values.to_pylist()
    letters = []
    for i in bad.tolist():
        t, s = int(ev_trace[i]), stamp[i].as_py()
        reason = (f"trace {t} has no concept:name, expected the case id" if case_of_event[i].as_py() is None
                  else "no concept:name, expected the activity" if activity[i].as_py() is None
                  else "no time:timestamp, expected the event's time" if s is None
                  else f"time:timestamp {json.dumps(s)} is not an ISO 8601 time")
        raw = "\n".join(raw_lines[ev_lines[i]:close_lines[i] + 1]).strip()
        letters.append((source, f"trace {t}, event {int(ev_order[i])}", raw, reason))
    return letters


def _flags(ts: pa.Array, clock: Clock) -> pa.Array:
    """[timestamp_outlier] for times before 1990 or over a year ahead, else []."""
    outlier = pc.fill_null(pc.or_(pc.less(ts, pa.scalar(datetime(1990, 1, 1), TS)),
                                  pc.greater(ts, pa.scalar(clock.latest_plausible, TS))), False)
    offsets = np.concatenate([[0], np.cumsum(outlier.to_numpy(zero_copy_only=False), dtype=np.int32)])
    values = pa.repeat(pa.scalar(TIMESTAMP_OUTLIER), int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _unescaped(arr: pa.Array) -> pa.Array:
    if not pc.any(pc.match_substring(arr, "&")).as_py():
        return arr
    for entity, char in ENTITIES:
        arr = pc.replace_substring(arr, entity, char)
    return arr


def _last_value(attrs: pa.Table, key: str, base: int, n: int) -> pa.Array:
    """Per event (by order), the value of its last attribute `key` (a repeated key: the last wins)."""
    picked = attrs.filter(pc.equal(attrs["key"], key))
    if not picked.num_rows:
        return pa.nulls(n, pa.string())
    index = np.full(n, -1, dtype=np.int64)
    index[picked["order"].to_numpy() - base - 1] = np.arange(picked.num_rows)   # later rows overwrite
    return pc.take(picked["value"].combine_chunks(), pa.array(index, pa.int64(), mask=index < 0))


def _times(con, stamp: pa.Array, clock: Clock, zone: str) -> pa.Array:
    """`stamp` as naive UTC; ISO forms by DuckDB, the rest (and what DuckDB refuses) by Python.
    Each distinct text is parsed once (logs repeat their times)."""
    distinct = pc.unique(stamp)
    con.register("stamps", pa.table({"t": distinct}))
    try:
        naive = "try_cast(t AS TIMESTAMP)"
        if zone != "UTC":
            naive = f"timezone('UTC', timezone('{zone.replace(chr(39), chr(39) * 2)}', {naive}))"
        ts = con.sql(f"""
            SELECT CASE WHEN regexp_full_match(t, '{ISO}(Z|[+-]\\d{{2}}:\\d{{2}})')
                             THEN timezone('UTC', try_cast(t AS TIMESTAMPTZ))
                        WHEN regexp_full_match(t, '{ISO}') THEN {naive} END AS ts
            FROM stamps""").to_arrow_table()["ts"].combine_chunks().cast(TS)
    finally:
        con.unregister("stamps")
    missing = pc.and_(ts.is_null(), distinct.is_valid())
    if pc.any(missing).as_py():
        fixed = [clock.utc(s) if m else None for s, m in zip(distinct.to_pylist(), missing.to_pylist())]
        ts = pc.if_else(missing, pa.array(fixed, TS), ts)
    return pc.take(ts, pc.index_in(stamp, value_set=distinct))


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
