"""XES written one element per line (as pm4py, ProM and most exporters write it), read with
vectorised parsing: in each block of whole traces the lines are found and classified by numpy
over the bytes (where each line's '<' and quotes are, compared with the layout exporters write),
keys and values become Arrow strings straight from the block, trace and event membership come
from running counts of the <trace> and <event> lines, and times are parsed by numpy
(log_values.iso_times; other forms by DuckDB). A block laid out otherwise (other spacing, say)
is matched line by line with Arrow's regular expressions instead. Python touches single values
only for traces (their attributes), events with attributes beyond activity, time and resource,
and bad events. A thread inflates and parses the next blocks while the caller stores the
current batch (of the blocks parsed by then).

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

from collectors.log_values import Clock, as_json, iso_times, typed
from collectors.mappings import PM4PY_ACTIVITY, PM4PY_RESOURCE, PM4PY_TIMESTAMP
from collectors.text_blocks import read_ahead
from models.batches import TS, Batch, dead_letters
from models.vocabulary import TIMESTAMP_OUTLIER

BLOCK_BYTES = 16 << 20
# Blocks are parsed this big at most and grouped into batches of about the asked size: parsing
# small blocks reuses the same memory (page faults cost a large share of the time otherwise).
PARSE_BYTES = 4 << 20
FIRST_BATCH_PART = 8      # the first block is read at this part of a batch, so the store starts soon
ATTRIBUTE = r'^<(?P<kind>string|date|int|float|boolean|id)\s+key="(?P<key>[^"<]*)"\s+value="(?P<value>[^"<]*)"\s*/>$'
TAGS = r"</?(trace|event)\b"
KINDS = ("string", "date", "int", "float", "boolean", "id")
# Times DuckDB parses exactly as Python's datetime.fromisoformat does; anything else goes to Python.
ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?"
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
RESERVED = (PM4PY_ACTIVITY, PM4PY_TIMESTAMP, PM4PY_RESOURCE)     # activity, time, actor
# The kinds (numbers in KINDS) each RESERVED key must be declared with for the vectorised path to
# read it as the tree reader does.
TEXT_KINDS = ((KINDS.index("string"), KINDS.index("id")), (KINDS.index("date"), KINDS.index("string")),
              (KINDS.index("string"), KINDS.index("id")))


class NotLineShaped(Exception):
    def __init__(self, traces_done: int, events_done: int):
        super().__init__(f"not one element per line after trace {traces_done}")
        self.traces_done, self.events_done = traces_done, events_done


def read(fh, source: str, system: str, case_type: str, activities: dict, clock: Clock,
         zone: str, block_bytes: int = BLOCK_BYTES) -> Iterator[Batch]:
    """Batches of the XES stream `fh` (binary, decompressed) of whole traces. A thread inflates
    and parses blocks ahead while the caller stores the batch before; a batch holds at least
    half of `block_bytes` of XES, and what else is parsed by the time the caller asks, up to
    `block_bytes`. So a store that keeps up has little left when the reading ends, and one
    that falls behind gets fewer batches; the first block is read small, to start it soon."""
    state = {"traces": 0, "events": 0}
    parse_bytes = min(block_bytes, PARSE_BYTES)
    blocks = _trace_blocks(fh, state, parse_bytes, min(parse_bytes, max(1, block_bytes // FIRST_BATCH_PART)))
    parts = (part for block in blocks
             if (part := _parsed(block, state, system, case_type, activities, clock, zone)) is not None)
    groups = read_ahead(parts, depth=max(1, block_bytes // parse_bytes), size=lambda part: len(part["block"]),
                        gather=(block_bytes // 2, block_bytes))
    yield from _batches(groups, source, clock, zone)
    if state["traces"] == 0:
        raise NotLineShaped(0, 0)      # no trace found: the tree reader says what is wrong


def _batches(groups: Iterator[list[dict]], source: str, clock: Clock, zone: str) -> Iterator[Batch]:
    """A batch per group of parsed blocks. Times of forms iso_times leaves are read by DuckDB,
    on a connection made only then."""
    con = None
    try:
        for group in groups:
            if con is None and any(p["left"].any() for p in group):
                con = duckdb.connect()
                con.execute("SET TimeZone = 'UTC'")
            yield _batch(con, group, source, clock, zone)
    finally:
        if con is not None:
            con.close()


def _trace_blocks(fh, state: dict, block_bytes: int, first_bytes: int) -> Iterator[bytes]:
    """Blocks of the stream that end after a </trace> line (the last one: whatever remains),
    read `block_bytes` at a time, the first `first_bytes` (so the store can start soon)."""
    carry = b""
    size = first_bytes
    while True:
        try:
            raw = fh.read(size)
            size = block_bytes
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


def _parsed(block: bytes, state: dict, system: str, case_type: str, activities: dict, clock: Clock,
            zone: str) -> dict | None:
    """A block's cases (object table) and events, their times but those of forms iso_times
    leaves (`left`); None without a trace."""
    fail = NotLineShaped(state["traces"], state["events"])
    shape = _scan(block, fail) or _shape(block, fail)
    if not shape["<trace>"].any():
        return None
    trace_no = state["traces"] + np.cumsum(shape["<trace>"], dtype=np.int64)
    order = state["events"] + np.cumsum(shape["<event>"], dtype=np.int64)
    line, kind_no, key_no, names, value = (shape[k] for k in ("attr_line", "kind_no", "key_no", "names", "value"))
    if b"&" in block:      # (an escaped key is never a reserved one: those hold no & < > " ')
        names, value = _unescaped(names), _unescaped(value)
    in_ev = shape["in_event"][line] == 1
    in_tr = (shape["in_trace"][line] == 1) & ~in_ev
    for i, kinds in enumerate(TEXT_KINDS):
        if not np.isin(kind_no[in_ev & (key_no == i)], kinds).all():
            raise fail

    # Traces: their case id and attributes (typed in Python, like the tree reader).
    t_nos = trace_no[shape["<trace>"]]
    case_attrs: dict[int, dict] = {t: {} for t in t_nos.tolist()}
    for t, k, kd, v in zip(trace_no[line][in_tr].tolist(), _keys_of(key_no, names, in_tr).to_pylist(),
                           kind_no[in_tr].tolist(), value.filter(in_tr).to_pylist()):
        case_attrs[t][k] = typed(v, KINDS[kd], clock)
    case_ids = [None if (c := a.pop(PM4PY_ACTIVITY, None)) is None else str(c) for a in case_attrs.values()]
    has_case = [c is not None for c in case_ids]
    obj = pa.table({"object_id": pa.array([c for c in case_ids if c is not None], pa.string()),
                    "object_type": pa.repeat(pa.scalar(case_type), sum(has_case)),
                    "source_system": pa.repeat(pa.scalar(system), sum(has_case)),
                    "attributes": pa.array([as_json(a) if a else "{}" for a, ok in zip(case_attrs.values(), has_case)
                                            if ok], pa.string())})

    # Events: one per <event> line, with its trace and its position there (bad events count too).
    ev_lines = np.flatnonzero(shape["<event>"])
    ev_order, ev_trace = order[ev_lines], trace_no[ev_lines]
    trace_index = np.searchsorted(t_nos, ev_trace)
    position = ev_order - (order[shape["<trace>"]][trace_index])
    base, n = state["events"], len(ev_order)
    attr_order = order[line] - base - 1          # the event (in this block) of each attribute
    activity, stamp, actor = (_last_value(value, attr_order, in_ev & (key_no == i), n) for i in range(3))
    case_of_event = pc.take(pa.array(case_ids, pa.string()), pa.array(trace_index))
    ids = pc.binary_join_element_wise(f"{system}:", case_of_event, ":", pc.cast(pa.array(position), pa.string()), "")
    event = pa.table({"event_id": ids, "activity": _renamed(activity, activities) if activities else activity,
                      "source_system": pa.repeat(pa.scalar(system), n), "actor": actor,
                      "attributes": _extra_attributes(kind_no, key_no, names, value, attr_order,
                                                      in_ev & (key_no < 0), n, clock),
                      "source_order": pa.array(ev_order, pa.int64())})
    state["traces"] += len(t_nos)
    state["events"] += n
    ts, left = iso_times(stamp, zone)
    return {"obj": obj, "event": event, "stamp": stamp, "ts": ts, "left": left, "raw_activity": activity,
            "case_of_event": case_of_event, "block": block, "shape": shape, "ev_lines": ev_lines, "ev_trace": ev_trace}


def _batch(con, parts: list[dict], source: str, clock: Clock, zone: str) -> Batch:
    """The batch of parsed blocks: their events timed and flagged, those that cannot be stored
    as dead letters."""
    events, links, letters = [], [], []
    for part in parts:
        event, case_of_event, activity, stamp = part["event"], part["case_of_event"], part["raw_activity"], part["stamp"]
        ts = part["ts"]
        if part["left"].any():
            left = pa.array(part["left"])
            slow = _times(con, stamp.filter(left), clock, zone)
            ts = pc.replace_with_mask(ts, left, slow)
        good = pc.and_(pc.and_(case_of_event.is_valid(), activity.is_valid()), ts.is_valid())
        bad = _bad_events(good, part["block"], part["shape"], part["ev_lines"], part["ev_trace"],
                          event["source_order"].combine_chunks().to_numpy(), case_of_event, activity, stamp, source)
        event = event.add_column(2, "ts", ts).add_column(6, "flags", _flags(ts, clock))
        if bad:
            event = event.filter(good)
            case_of_event = case_of_event.filter(good)
        events.append(event)
        links.append(pa.table({"event_id": event["event_id"], "object_id": case_of_event}))
        letters += bad
    return Batch(event=pa.concat_tables(events), object=pa.concat_tables([p["obj"] for p in parts]),
                 event_object=pa.concat_tables(links), dead_letter=dead_letters(letters) if letters else None)


def _shape(block: bytes, fail: NotLineShaped) -> dict:
    """Where the structure lines are, the running depth of trace and event, and the attributes
    (`kind_no`: the number in KINDS, `key_no`: the number of the key in RESERVED, -1 for the
    keys in `names`, `value`; `attr_line`: their line), by Arrow's regular expressions over every
    line; raises `fail` unless the block is whole traces of one element per line."""
    try:
        text = pa.array([block], pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        raise fail from None
    lines = pc.utf8_trim_whitespace(pc.list_flatten(pc.split_pattern(text, "\n")))
    out = {tag: pc.equal(lines, tag).to_numpy(zero_copy_only=False)
           for tag in ("<trace>", "</trace>", "<event>", "</event>")}
    rest = np.flatnonzero(~(out["<trace>"] | out["</trace>"] | out["<event>"] | out["</event>"]))
    matched = pc.extract_regex(lines.take(pa.array(rest)), ATTRIBUTE)
    is_attr = matched.is_valid().to_numpy(zero_copy_only=False)
    attrs = matched.filter(is_attr)
    other_line = rest[~is_attr]           # the header, blank lines and what breaks the shape
    key = attrs.field("key")
    key_no = pc.fill_null(pc.index_in(key, value_set=pa.array(RESERVED, pa.string())), -1).to_numpy()
    out.update(kind_no=pc.index_in(attrs.field("kind"), value_set=pa.array(KINDS)).to_numpy(), key_no=key_no,
               names=key.filter(pa.array(key_no < 0)), value=attrs.field("value"), attr_line=rest[is_attr])
    return _checked(out, lines.take(pa.array(other_line)), other_line, block, fail)


def _checked(out: dict, others: pa.Array, other_line: np.ndarray, block: bytes, fail: NotLineShaped) -> dict:
    """`out` with the running depths of trace and event; raises `fail` unless the structure
    lines nest as whole traces of events and the `others` lines (trimmed) are blank inside
    traces, with no trace or event tag nor a comment over several lines, and no value of the
    `block` holds a character reference."""
    in_trace = np.cumsum(out["<trace>"], dtype=np.int8) - np.cumsum(out["</trace>"], dtype=np.int8)
    in_event = np.cumsum(out["<event>"], dtype=np.int8) - np.cumsum(out["</event>"], dtype=np.int8)
    if (in_trace.min(initial=0) < 0 or in_trace.max(initial=0) > 1 or in_event.min(initial=0) < 0
            or in_event.max(initial=0) > 1 or (in_event > in_trace).any() or in_trace[-1] != 0
            or pc.any(pc.not_equal(others.filter(in_trace[other_line] == 1), "")).as_py()
            or pc.any(pc.match_substring_regex(others, TAGS)).as_py()
            or pc.any(pc.and_(pc.match_substring_regex(others, "<!--|-->"),      # comments on one line only
                              pc.invert(pc.match_substring_regex(others, "^<!--.*-->$")))).as_py()
            or b"&#" in block and pc.any(pc.match_substring(out["value"], "&#")).as_py()):
        raise fail
    out.update(in_trace=in_trace, in_event=in_event)
    return out


def _scan(block: bytes, fail: NotLineShaped) -> dict | None:
    """What `_shape` finds, by byte arithmetic over the whole block, for the layout exporters
    write: indentation, one element, a line end; attributes as `<kind key="k" value="v"/>` (or
    ` />`). None when a line inside a trace is laid out otherwise (`_shape` then decides)."""
    n = len(block)
    a = np.frombuffer(block, np.uint8)
    # word(p): the 8 bytes from p as one little-endian integer (beyond the block: zeros)
    word = np.ndarray((n + 9,), "<u8", buffer=block + bytes(16), strides=(1,))
    nl = np.flatnonzero(a == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.append(nl, n)                  # line i is block[starts[i]:ends[i]], as split("\n")
    lines = len(starts)
    lt = np.append(np.flatnonzero(a == 60), n)
    first_lt = np.searchsorted(lt, starts)
    el = np.minimum(lt[first_lt], ends)      # each line's first '<' (its end if it has none)
    lt_count = np.diff(first_lt, append=len(lt) - 1)
    one = lt_count == 1
    w0, w1 = word[el], word[el + 8]
    stop = np.full(lines, -1, np.int64)      # where the element of a line read here ends
    out = {}
    for tag in ("<trace>", "</trace>", "<event>", "</event>"):
        out[tag] = one & _is(w0, tag.encode())
        stop[out[tag]] = el[out[tag]] + len(tag)
    # attributes: four quotes on the line, at the places the layout puts them
    q = np.flatnonzero(a == 34)
    first_q = np.searchsorted(q, starts)
    code = np.full(lines, -1, np.int8)
    cand = np.flatnonzero(one & (np.diff(first_q, append=len(q)) == 4) & (stop < 0))
    first = first_q[cand]
    q0, q1, q2, q3 = (q[first + i] for i in range(4))
    e, closing = el[cand], word[q3]
    spaced = _is(closing, b'" />')
    shaped = (q2 == q1 + 8) & _is(word[q1], b'" value=') & (_is(closing, b'"/>') | spaced)
    head, tail = w0[cand], w1[cand]
    for i, kind in enumerate(KINDS):
        prefix = f'<{kind} key="'.encode()
        hit = shaped & (q0 == e + len(prefix) - 1) & _is(head, prefix[:8])
        if len(prefix) > 8:
            hit &= _is(tail, prefix[8:])
        code[cand[hit]] = i
    found = code[cand] >= 0
    attr_line, spaced = cand[found], spaced[found]
    k0, k1, v0, v1 = q0[found] + 1, q1[found], q2[found] + 1, q3[found]
    stop[attr_line] = v1 + 3 + spaced
    other = (stop < 0) & (lt_count > 0)
    inside = np.cumsum(out["<trace>"], dtype=np.int8) - np.cumsum(out["</trace>"], dtype=np.int8)
    if (other & (inside != 0)).any():
        return None
    try:
        key_no, names = _keys(block, word, k0, k1)
        value = _strings(block, word, v0, v1)
        other_line = np.flatnonzero(other)
        other_text = [block[starts[i]:ends[i]] for i in other_line.tolist()]
        others = pc.utf8_trim_whitespace(pa.array([t.decode() for t in other_text], pa.string()))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise fail from None
    # Every byte outside the elements read here must be whitespace (indentation, line ends, lines
    # without '<'): so the block's whitespace is exactly what those bytes, the layout's spaces
    # inside attributes, the keys and values and the other lines hold. Else `_shape` decides.
    read = stop >= 0
    expected = (len(nl) + int((el - starts)[read].sum()) + int((ends - stop)[read].sum())
                + int((ends - starts)[lt_count == 0].sum()) + 2 * len(attr_line) + int(spaced.sum())
                + _spaces(names) + _spaces(value) + sum(np.count_nonzero(np.frombuffer(t, np.uint8) <= 32)
                                                      for t in other_text))
    if expected != np.count_nonzero(a <= 32):
        return None
    out.update(kind_no=code[attr_line], key_no=key_no, names=names, value=value, attr_line=attr_line)
    return _checked(out, others, other_line, block, fail)


def _spaces(texts: pa.Array) -> int:
    """How many bytes of whitespace (or other bytes up to 32) the texts hold."""
    offsets = np.frombuffer(texts.buffers()[1], np.int32)[texts.offset:texts.offset + len(texts) + 1]
    data = np.frombuffer(texts.buffers()[2], np.uint8) if len(texts) else np.zeros(0, np.uint8)
    return int(np.count_nonzero(data[offsets[0]:offsets[-1]] <= 32))


def _is(words: np.ndarray, prefix: bytes) -> np.ndarray:
    """Whether each word's first bytes are `prefix` (at most 8)."""
    mask = (1 << (8 * len(prefix))) - 1
    return (words & np.uint64(mask)) == np.uint64(int.from_bytes(prefix, "little"))


def _strings(block: bytes, word: np.ndarray, start: np.ndarray, stop: np.ndarray) -> pa.Array:
    """The UTF-8 texts block[start:stop] as one Arrow string array (ArrowInvalid if one is not
    UTF-8): Arrow views into the block (texts of up to 12 bytes inline, the rest by offset), which
    Arrow's cast then copies out and checks."""
    length = (stop - start).astype(np.uint64)
    head = word[start]
    views = np.empty((len(length), 2), np.uint64)
    views[:, 0] = length | ((head & _MASKS[np.minimum(length, 4)]) << np.uint64(32))
    views[:, 1] = start.astype(np.uint64) << np.uint64(32)
    short = np.flatnonzero(length <= 12)
    if len(short):
        n, h = length[short], head[short]
        views[short, 1] = (((h & _MASKS[np.minimum(n, 8)]) >> np.uint64(32))
                           | ((word[start[short] + 8] & _MASKS[np.clip(n, 8, 12) - 8]) << np.uint64(32)))
    arr = pa.Array.from_buffers(pa.binary_view(), len(length), [None, pa.py_buffer(views), pa.py_buffer(block)])
    return arr.cast(pa.string())


def _keys(block: bytes, word: np.ndarray, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Of the keys block[start:stop]: the number in RESERVED of each (-1 for others), and the
    others as strings (`names`). Only those are copied out of the block: most keys of a log
    are reserved ones."""
    length = stop - start
    head, tail = _low(word[start], np.minimum(length, 8)), _low(word[start + 8], np.clip(length - 8, 0, 8))
    reserved = np.full(len(start), -1, np.int64)
    for i, name in enumerate(RESERVED):      # each at most 16 bytes
        text = name.encode() + bytes(16)
        reserved[(length == len(name)) & (head == np.uint64(int.from_bytes(text[:8], "little")))
                 & (tail == np.uint64(int.from_bytes(text[8:16], "little")))] = i
    other = reserved < 0
    return reserved, _strings(block, word, start[other], stop[other])


def _keys_of(key_no: np.ndarray, names: pa.Array, picked: np.ndarray) -> pa.Array:
    """The keys of the picked attributes, given each one's number in RESERVED (-1: the next of
    `names`, the keys of the others in order)."""
    rows = np.flatnonzero(picked)
    index = np.where(key_no[rows] >= 0, key_no[rows], len(RESERVED) + (np.cumsum(key_no < 0) - 1)[rows])
    return pa.concat_arrays([pa.array(RESERVED, pa.string()), names]).take(pa.array(index))


_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(9)], np.uint64)


def _low(words: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """The first `nbytes` (0 to 8) bytes of each word, the rest zeroed."""
    return words & _MASKS[nbytes]


def _bad_events(good, block, shape, ev_lines, ev_trace, ev_order, case_of_event, activity, stamp, source) -> list:
    """Dead letters of the events that cannot be stored, each with its lines as written."""
    bad = np.flatnonzero(~good.to_numpy(zero_copy_only=False))
    if not len(bad):
        return []
    close_lines = np.flatnonzero(shape["</event>"])
    raw_lines = block.decode("utf-8", "replace").split("\n")
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


def _last_value(values: pa.Array, event: np.ndarray, picked: np.ndarray, n: int) -> pa.Array:
    """Per event, the value of its last picked attribute (a repeated key: the last wins)."""
    rows = np.flatnonzero(picked)
    if not len(rows):
        return pa.nulls(n, pa.string())
    index = np.full(n, -1, dtype=np.int64)
    index[event[rows]] = rows             # later rows overwrite
    return values.take(pa.array(index, pa.int64(), mask=index < 0))


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


def _extra_attributes(kind_no: np.ndarray, key_no: np.ndarray, names: pa.Array, value: pa.Array,
                      event: np.ndarray, picked: np.ndarray, n: int, clock: Clock) -> pa.Array:
    """Each event's picked attributes (those beyond activity, time and resource), typed, as
    canonical JSON."""
    out = ["{}"] * n
    rows = np.flatnonzero(picked)
    if not len(rows):
        return pa.array(out, pa.string())
    values: dict[int, dict] = {}
    take = pa.array(rows)
    for e, kd, k, v in zip(event[rows].tolist(), kind_no[rows].tolist(), _keys_of(key_no, names, picked).to_pylist(),
                           value.take(take).to_pylist()):
        values.setdefault(e, {})[k] = typed(v, KINDS[kd], clock)
    for e, d in values.items():
        out[e] = as_json(d)
    return pa.array(out, pa.string())


def _renamed(activity: pa.Array, activities: dict) -> pa.Array:
    source = pa.array(list(activities), pa.string())
    index = pc.index_in(activity, value_set=source)
    mapped = pc.take(pa.array(list(activities.values()), pa.string()), index)
    return pc.coalesce(mapped, activity)
