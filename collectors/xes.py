"""XES event logs (.xes, .xes.gz) read as canonical batches, streaming.

A file written one element per line is read vectorised (collectors.xes_lines); from the first
trace that is not (nested attributes, several elements on a line), lxml's iterparse walks it:
each event element is read when it closes and then cleared, each trace when it closes and then
dropped, so memory holds one trace plus one batch of rows.
A trace becomes an object (type from the mapping's [[object]] on `case:concept:name`, default
"case"); its events get `<system>:<case id>:<position in case>` ids, `concept:name` as
activity, `time:timestamp` as time (UTC), `org:resource` as actor, and every other attribute
(lifecycle too) typed in `attributes`. Times before 1990 or over a year ahead are kept and
flagged `timestamp_outlier`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterator

import pyarrow as pa
from lxml import etree

from collectors import xes_lines
from collectors.errors import UnreadableSource
from collectors.log_values import Clock, as_json, ts_array, typed
from collectors.mappings import PM4PY_ACTIVITY, PM4PY_CASE, PM4PY_RESOURCE, PM4PY_TIMESTAMP, Mapping
from models.batches import Batch, dead_letters
from models.vocabulary import CASE

BATCH_ROWS = 100_000
BYTES_PER_EVENT = 160     # of a minimal XES event; sizes the vectorised reader's blocks
SCALARS = ("string", "date", "int", "float", "boolean", "id")


def read_xes(path: str | Path, mapping: Mapping | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The batches of the XES log at `path` (gzip-compressed when it ends in .gz or starts so):
    vectorised while the file has one element per line, by lxml from the first trace that has not."""
    source = str(path)
    system = mapping.system if mapping else xes_system(path)
    case_type = _case_type(mapping)
    activities = mapping.activities if mapping else {}
    zone = mapping.timezone if mapping else "UTC"
    try:
        with _open(path) as fh:
            yield from xes_lines.read(fh, source, system, case_type, activities, Clock(zone), zone,
                                      max(1 << 16, batch_rows * BYTES_PER_EVENT))
        return
    except xes_lines.NotLineShaped as stop:
        skip = stop.traces_done
    except OSError as exc:
        raise UnreadableSource(f"{source}: not readable as XES ({exc})") from exc
    yield from _read_tree(path, source, system, case_type, activities, Clock(zone), batch_rows, skip)


def _read_tree(path, source: str, system: str, case_type: str, activities: dict, clock: Clock,
               batch_rows: int, skip: int) -> Iterator[Batch]:
    """The XES log read by lxml, leaving out the first `skip` traces (already read)."""
    rows = _Rows(source, system, case_type)
    local: dict[str, str] = {}

    def name(tag) -> str:
        try:
            return local[tag]
        except KeyError:
            n = local[tag] = tag.rpartition("}")[2] if isinstance(tag, str) else ""
            return n

    trace_no = 0
    order = 0
    pending: list = []      # this trace's events: (attrs element data, position, raw or None)
    try:
        with _open(path) as fh:
            for _, elem in etree.iterparse(fh, events=("end",), tag=("{*}event", "{*}trace"),
                                           huge_tree=True, remove_comments=True):
                if name(elem.tag) == "event":
                    parent = elem.getparent()
                    if parent is None or name(parent.tag) != "trace":
                        continue          # an event outside a trace (not XES): handled by nobody
                    order += 1
                    pending.append((order, _event_values(elem, name, clock), elem))
                    continue
                trace_no += 1
                if trace_no > skip:
                    case_attrs = {}
                    for child in elem:
                        if name(child.tag) != "event":
                            key, value = _attribute(child, name, clock)
                            if key is not None:
                                case_attrs[key] = value
                    case_id = case_attrs.pop(PM4PY_ACTIVITY, None)
                    rows.trace(trace_no, None if case_id is None else str(case_id), case_attrs, pending,
                               activities, clock)
                pending = []
                elem.clear()
                while elem.getprevious() is not None:
                    del elem.getparent()[0]
                if rows.size >= batch_rows:
                    yield rows.flush()
    except (etree.XMLSyntaxError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableSource(f"{source}: not readable as XES ({exc})") from exc
    if trace_no == 0 and order == 0:
        raise UnreadableSource(f"{source}: no <trace> in this file; expected an XES log")
    if rows.size:
        yield rows.flush()


def xes_system(path: str | Path) -> str:
    """The source system of a log read without a mapping: its file name without the suffixes."""
    name = Path(path).name
    for suffix in (".gz", ".xes"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _case_type(mapping: Mapping | None) -> str:
    if mapping:
        for o in mapping.objects:
            if o.id == PM4PY_CASE:
                return o.type
        if mapping.objects:
            return mapping.objects[0].type
    return CASE


def _open(path):
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    return gzip.GzipFile(fileobj=f, mode="rb") if head == b"\x1f\x8b" else f


def _event_values(elem, name, clock: Clock) -> dict:
    values = {}
    for child in elem:
        key, value = _attribute(child, name, clock)
        if key is not None:
            values[key] = value
    return values


def _attribute(elem, name, clock: Clock):
    """(key, typed value) of an XES attribute element; lists and containers as JSON-able values,
    nested attributes as {"value": v, "attributes": {...}}."""
    kind = name(elem.tag)
    key = elem.get("key")
    if kind in SCALARS:
        if kind == "date" and key == PM4PY_TIMESTAMP:
            value = elem.get("value")          # parsed as the event's time, not as an attribute
        else:
            value = typed(elem.get("value"), kind, clock)
        if len(elem):
            nested = {}
            for child in elem:
                k, v = _attribute(child, name, clock)
                if k is not None:
                    nested[k] = v
            value = {"value": value, "attributes": nested}
        return key, value
    if kind == "list":
        values = []
        for child in elem:
            holder = child if name(child.tag) == "values" else None
            for item in (holder if holder is not None else [child]):
                k, v = _attribute(item, name, clock)
                if k is not None:
                    values.append({k: v})
        return key, values
    if kind == "container":
        out = {}
        for child in elem:
            k, v = _attribute(child, name, clock)
            if k is not None:
                out[k] = v
        return key, out
    return None, None


class _Rows:
    """Columns of the batch being built."""

    def __init__(self, source: str, system: str, case_type: str):
        self.source, self.system, self.case_type = source, system, case_type
        self._reset()

    def _reset(self) -> None:
        self.ev = {k: [] for k in ("event_id", "activity", "ts", "actor", "attributes", "flags", "source_order")}
        self.obj = {k: [] for k in ("object_id", "attributes")}
        self.eo_event: list[str] = []
        self.eo_object: list[str] = []
        self.bad: list[tuple] = []
        self.size = 0

    def trace(self, trace_no: int, case_id: str | None, case_attrs: dict, events: list,
              activities: dict, clock: Clock) -> None:
        ev, system = self.ev, self.system
        if case_id is None:
            for order, _, elem in events:
                self.bad.append((self.source, f"trace {trace_no}, event {order}", _raw(elem),
                                 f"trace {trace_no} has no concept:name, expected the case id"))
            return
        self.obj["object_id"].append(case_id)
        self.obj["attributes"].append(as_json(case_attrs))
        prefix = f"{system}:{case_id}:"
        for position, (order, values, elem) in enumerate(events, 1):
            activity = values.pop(PM4PY_ACTIVITY, None)
            stamp = values.pop(PM4PY_TIMESTAMP, None)
            ts = clock.utc(stamp) if stamp is not None else None
            if activity is None or ts is None:
                reason = ("no concept:name, expected the activity" if activity is None else
                          "no time:timestamp, expected the event's time" if stamp is None else
                          f"time:timestamp {json.dumps(stamp)} is not an ISO 8601 time")
                self.bad.append((self.source, f"trace {trace_no}, event {order}", _raw(elem), reason))
                continue
            activity = str(activity)
            ev["event_id"].append(prefix + str(position))
            ev["activity"].append(activities.get(activity, activity))
            ev["ts"].append(ts)
            actor = values.pop(PM4PY_RESOURCE, None)
            ev["actor"].append(None if actor is None else str(actor))
            ev["attributes"].append(as_json(values))
            ev["flags"].append(clock.flags(ts))
            ev["source_order"].append(order)
            self.eo_event.append(prefix + str(position))
            self.eo_object.append(case_id)
        self.size += len(events)
        for _, _, elem in events:
            elem.clear()

    def flush(self) -> Batch:
        ev, n = self.ev, len(self.ev["event_id"])
        string = pa.string()
        event = pa.table({
            "event_id": pa.array(ev["event_id"], string), "activity": pa.array(ev["activity"], string),
            "ts": ts_array(ev["ts"]), "source_system": pa.array([self.system] * n, string),
            "actor": pa.array(ev["actor"], string), "attributes": pa.array(ev["attributes"], string),
            "flags": pa.array(ev["flags"], pa.list_(string)),
            "source_order": pa.array(ev["source_order"], pa.int64())})
        m = len(self.obj["object_id"])
        obj = pa.table({"object_id": pa.array(self.obj["object_id"], string),
                        "object_type": pa.array([self.case_type] * m, string),
                        "source_system": pa.array([self.system] * m, string),
                        "attributes": pa.array(self.obj["attributes"], string)})
        eo = pa.table({"event_id": pa.array(self.eo_event, string), "object_id": pa.array(self.eo_object, string)})
        batch = Batch(event=event, object=obj, event_object=eo,
                      dead_letter=dead_letters(self.bad) if self.bad else None)
        self._reset()
        return batch


def _raw(elem) -> str:
    return etree.tostring(elem, encoding="unicode", with_tail=False).strip()
