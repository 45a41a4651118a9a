"""Object-centric event logs read as canonical batches: OCEL 2.0 (SQLite, JSON, XML) and
OCEL 1.0 JSON.

Every format first becomes the same records — events (id, type, time, typed attributes,
related objects), objects (id, type, timed attribute values, related objects) — and one
function turns those into batches, so the three OCEL 2.0 formats of one log give the same store
content. Object ids stay as in the file (every object, referenced by an event or not); event ids
are `<system>:<ocel event id>` (system from the mapping, default "ocel"). An object's
`attributes` hold each attribute's earliest value; every timed value is an `object_change` row.
Times written without an offset are read in the mapping's zone (default UTC).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
from lxml import etree

from collectors.errors import UnreadableSource
from collectors.json_stream import JSONStreamError, members
from collectors.log_values import Clock, as_json, ts_array, typed
from collectors.mappings import Mapping
from models.batches import Batch, dead_letters

SYSTEM = "ocel"
BATCH_ROWS = 100_000
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class OcelEvent:
    position: str                     # where it is in the file, for dead letters
    id: str | None
    type: str | None
    time: object                      # text or datetime as found
    attributes: dict                  # name -> typed value
    objects: list[tuple[str, str | None]]   # (object id, qualifier)
    raw: object = None                # a callable giving the record's text, or the text


@dataclass
class OcelObject:
    position: str
    id: str | None
    type: str | None
    values: list[tuple[object, str, object]] = field(default_factory=list)   # (time or None, name, value)
    objects: list[tuple[str, str | None]] = field(default_factory=list)
    raw: object = None


def read_ocel(path: str | Path, mapping: Mapping | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The batches of the OCEL log at `path`, whichever of its formats it is in, read as a
    stream: memory follows `batch_rows`, not the size of the file."""
    source = str(path)
    kind = ocel_format(path)
    clock = Clock(mapping.timezone if mapping else "UTC")
    readers = {"sqlite": _sqlite, "xml": _xml, "json2": _json2, "json1": _json1}
    if kind not in readers:
        raise UnreadableSource(f"{source}: not an OCEL log (expected OCEL 2.0 SQLite, JSON or XML, "
                               "or OCEL 1.0 JSON)")
    try:
        yield from _batches(source, readers[kind](path, clock), mapping, clock, batch_rows)
    except (JSONStreamError, UnicodeDecodeError, OSError, sqlite3.Error) as exc:
        raise UnreadableSource(f"{source}: not readable as OCEL {kind.removesuffix('2').removesuffix('1').upper()} "
                               f"({exc})") from exc


def ocel_format(path: str | Path) -> str | None:
    """"sqlite" | "json2" | "json1" | "xml" by content, None when not an OCEL log."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise UnreadableSource(f"{path}: cannot open ({exc.strerror or exc})") from exc
    if head.startswith(SQLITE_MAGIC):
        try:
            con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
            try:
                names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                con.close()
        except sqlite3.Error:
            return None
        return "sqlite" if {"event", "object", "event_object"} <= names else None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        if '"ocel:events"' in text or '"ocel:global-log"' in text or '"ocel:objects"' in text:
            return "json1"
        if '"objectTypes"' in text or '"eventTypes"' in text:
            return "json2"
        return None
    if text.startswith("<") and ("<object-types" in text or "<event-types" in text):
        return "xml"
    return None


# -- SQLite (OCEL 2.0 relational layout) -------------------------------------------------------
SQL_TYPES = {"INTEGER": "integer", "INT": "integer", "REAL": "float", "FLOAT": "float", "DOUBLE": "float",
             "TIMESTAMP": "time", "DATETIME": "time", "BOOLEAN": "boolean", "TEXT": "string"}
OCEL_COLUMNS = ("ocel_id", "ocel_time", "ocel_changed_field")


def _sqlite(path, clock: Clock):
    source = str(path)
    try:
        con = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise UnreadableSource(f"{source}: not readable as OCEL SQLite ({exc})") from exc
    missing = {"event", "object", "event_object", "event_map_type", "object_map_type"} - tables
    if missing:
        con.close()
        raise UnreadableSource(f"{source}: not an OCEL 2.0 SQLite log; missing table(s) "
                               f"{', '.join(sorted(missing))}")

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def columns(table: str) -> list[tuple[str, str]]:
        return [(r[1], SQL_TYPES.get((r[2] or "TEXT").upper().split("(")[0], "string"))
                for r in con.execute(f"PRAGMA table_info({q(table)})")]

    def typed_tables(kind: str) -> dict[str, str]:
        out = {}
        for otype, suffix in con.execute(f"SELECT ocel_type, ocel_type_map FROM {kind}_map_type"):
            table = f"{kind}_{suffix}"
            if table in tables:
                out[otype] = table
        return out

    def objects() -> Iterator[OcelObject]:
        o2o: dict[str, list] = {}
        if "object_object" in tables:
            for s, t, qual in con.execute("SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object"):
                o2o.setdefault(s, []).append((t, qual))
        values: dict[str, list] = {}
        for otype, table in typed_tables("object").items():
            cols = columns(table)
            names = [c for c, _ in cols]
            for row in con.execute(f"SELECT * FROM {q(table)} ORDER BY rowid"):
                rec = dict(zip(names, row))
                changed = rec.get("ocel_changed_field")
                for col, kind in cols:
                    if col in OCEL_COLUMNS or (changed and col != changed):
                        continue
                    if rec[col] is None and not changed:
                        continue
                    values.setdefault(rec["ocel_id"], []).append(
                        (rec.get("ocel_time"), col, typed(rec[col], kind, clock)))
        for n, (oid, otype) in enumerate(con.execute("SELECT ocel_id, ocel_type FROM object ORDER BY rowid"), 1):
            yield OcelObject(f"object row {n}", oid, otype, values.pop(oid, []), o2o.pop(oid, []),
                             raw=json.dumps({"ocel_id": oid, "ocel_type": otype}))
        for oid, targets in o2o.items():      # links whose source is not in the object table
            yield OcelObject(f"object_object source {oid}", oid, None, [], targets,
                             raw=json.dumps({"ocel_source_id": oid}))

    def events() -> Iterator[OcelEvent]:
        e2o: dict[str, list] = {}
        for e, o, qual in con.execute("SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"):
            e2o.setdefault(e, []).append((o, qual))
        detail: dict[str, tuple] = {}
        for etype, table in typed_tables("event").items():
            cols = columns(table)
            names = [c for c, _ in cols]
            for row in con.execute(f"SELECT * FROM {q(table)}"):
                rec = dict(zip(names, row))
                attrs = {c: typed(rec[c], k, clock) for c, k in cols if c not in OCEL_COLUMNS and rec[c] is not None}
                detail[rec["ocel_id"]] = (rec.get("ocel_time"), attrs)
        try:
            for n, (eid, etype) in enumerate(con.execute("SELECT ocel_id, ocel_type FROM event ORDER BY rowid"), 1):
                time, attrs = detail.pop(eid, (None, {}))
                yield OcelEvent(f"event row {n}", eid, etype, time, attrs, e2o.pop(eid, []),
                                raw=json.dumps({"ocel_id": eid, "ocel_type": etype, "ocel_time": time}, default=str))
        finally:
            con.close()

    try:
        objs = list(objects())
    except sqlite3.Error as exc:
        con.close()
        raise UnreadableSource(f"{source}: not readable as OCEL SQLite ({exc})") from exc
    return chain(objs, events())


# -- JSON ---------------------------------------------------------------------------------------
def _declared(types: list | None) -> dict[str, dict[str, str]]:
    return {t.get("name"): {a.get("name"): a.get("type", "string") for a in t.get("attributes") or []}
            for t in types or [] if isinstance(t, dict)}


def _json2(path, clock: Clock) -> Iterator[OcelObject | OcelEvent]:
    """OCEL 2.0 JSON, streamed: objects and events as they come. Their typed values need the
    declared types; a file that declares them after its objects or events is read twice."""
    types: dict[str, dict] = {}
    later = set()
    for key, entries in members(path, {"objects", "events"}):
        if key in ("objectTypes", "eventTypes"):
            types[key] = _declared(entries)
        elif key in ("objects", "events"):
            if len(types) < 2:
                later.add(key)   # left unread; the second pass takes it
            else:
                yield from _json2_records(key, entries, types, clock)
    if later:
        for key, entries in members(path, {"objects", "events"}):
            if key in later:
                yield from _json2_records(key, entries, types, clock)


def _json2_records(key: str, entries, types: dict, clock: Clock) -> Iterator[OcelObject | OcelEvent]:
    entries = entries if isinstance(entries, (Iterator, list)) else ()
    record = _json2_object if key == "objects" else _json2_event
    kinds = types.get("objectTypes" if key == "objects" else "eventTypes", {})
    for n, entry in enumerate(entries, 1):
        yield record(n, entry, kinds, clock)


def _json2_object(n: int, o, kinds_of: dict, clock: Clock) -> OcelObject:
    if not isinstance(o, dict):
        return OcelObject(f"object {n}", None, None, raw=json.dumps(o))
    kinds = kinds_of.get(o.get("type"), {})
    values = [(a.get("time"), a.get("name"), typed(a.get("value"), kinds.get(a.get("name"), "string"), clock))
              for a in o.get("attributes") or []]
    rels = [(r.get("objectId"), r.get("qualifier")) for r in o.get("relationships") or []]
    return OcelObject(f"object {n}", o.get("id"), o.get("type"), values, rels,
                      raw=lambda: json.dumps(o, ensure_ascii=False))


def _json2_event(n: int, e, kinds_of: dict, clock: Clock) -> OcelEvent:
    if not isinstance(e, dict):
        return OcelEvent(f"event {n}", None, None, None, {}, [], raw=json.dumps(e))
    kinds = kinds_of.get(e.get("type"), {})
    attrs = {a.get("name"): typed(a.get("value"), kinds.get(a.get("name"), "string"), clock)
             for a in e.get("attributes") or []}
    rels = [(r.get("objectId"), r.get("qualifier")) for r in e.get("relationships") or []]
    return OcelEvent(f"event {n}", e.get("id"), e.get("type"), e.get("time"), attrs, rels,
                     raw=lambda: json.dumps(e, ensure_ascii=False))


def _json1(path, clock: Clock) -> Iterator[OcelObject | OcelEvent]:
    """OCEL 1.0 JSON, streamed: `ocel:objects` / `ocel:events` maps; `ocel:global-*` keys are optional."""
    for key, entries in members(path, {"ocel:objects", "ocel:events"}):
        if key not in ("ocel:objects", "ocel:events"):
            continue
        pairs = entries if isinstance(entries, Iterator) else (entries.items() if isinstance(entries, dict) else ())
        for n, (oid, o) in enumerate(pairs, 1):
            yield _json1_object(n, oid, o) if key == "ocel:objects" else _json1_event(n, oid, o)


def _json1_object(n: int, oid: str, o) -> OcelObject:
    if not isinstance(o, dict):
        return OcelObject(f"object {n}", oid, None, raw=json.dumps({oid: o}))
    values = [(None, k, _native(v)) for k, v in (o.get("ocel:ovmap") or {}).items()]
    return OcelObject(f"object {n}", oid, o.get("ocel:type"), values, [],
                      raw=lambda: json.dumps({oid: o}, ensure_ascii=False))


def _json1_event(n: int, eid: str, e) -> OcelEvent:
    if not isinstance(e, dict):
        return OcelEvent(f"event {n}", eid, None, None, {}, [], raw=json.dumps({eid: e}))
    attrs = {k: _native(v) for k, v in (e.get("ocel:vmap") or {}).items()}
    return OcelEvent(f"event {n}", eid, e.get("ocel:activity"), e.get("ocel:timestamp"), attrs,
                     [(o, None) for o in e.get("ocel:omap") or []],
                     raw=lambda: json.dumps({eid: e}, ensure_ascii=False))


def _native(value):
    return value if isinstance(value, (str, int, float, bool, list, dict)) or value is None else str(value)


# -- XML ----------------------------------------------------------------------------------------
def _xml(path, clock: Clock) -> Iterator[OcelObject | OcelEvent]:
    """OCEL 2.0 XML, streamed in file order (the schema puts the type declarations first)."""
    source = str(path)
    types: dict[str, dict[str, dict[str, str]]] = {"object-type": {}, "event-type": {}}
    n_obj = n_ev = 0
    try:
        for _, elem in etree.iterparse(str(path), events=("end",), huge_tree=True, remove_comments=True,
                                       tag=("object-type", "event-type", "object", "event")):
            tag = elem.tag
            if tag in types:
                types[tag][elem.get("name")] = {
                    a.get("name"): a.get("type", "string") for a in elem.iterfind("attributes/attribute")}
                continue
            parent = elem.getparent()
            if parent is None or parent.tag not in ("objects", "events"):
                continue          # <objects> inside an object or event holds relationships, not objects
            raw = etree.tostring(elem, encoding="unicode", with_tail=False).strip()
            rels = [(r.get("object-id"), r.get("qualifier")) for r in elem.iterfind("objects/relationship")]
            kinds = types[f"{tag}-type"].get(elem.get("type"), {})
            if tag == "object":
                n_obj += 1
                values = [(a.get("time"), a.get("name"), typed(a.text or "", kinds.get(a.get("name"), "string"), clock))
                          for a in elem.iterfind("attributes/attribute")]
                yield OcelObject(f"object {n_obj}", elem.get("id"), elem.get("type"), values, rels, raw=raw)
            else:
                n_ev += 1
                attrs = {a.get("name"): typed(a.text or "", kinds.get(a.get("name"), "string"), clock)
                         for a in elem.iterfind("attributes/attribute")}
                yield OcelEvent(f"event {n_ev}", elem.get("id"), elem.get("type"), elem.get("time"),
                                attrs, rels, raw=raw)
            elem.clear()
            while elem.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise UnreadableSource(f"{source}: not readable as OCEL XML ({exc})") from exc


# -- records -> batches -------------------------------------------------------------------------
def _batches(source: str, records: Iterable[OcelObject | OcelEvent], mapping: Mapping | None,
             clock: Clock, batch_rows: int) -> Iterator[Batch]:
    system = mapping.system if mapping else SYSTEM
    activities = mapping.activities if mapping else {}
    actor_attr = mapping.actor if mapping else None
    bad: list[tuple] = []
    obj = {k: [] for k in ("object_id", "object_type", "attributes")}
    change = {k: [] for k in ("object_id", "ts", "attribute", "value")}
    o2o = {k: [] for k in ("source_id", "target_id", "qualifier")}
    ev = {k: [] for k in ("event_id", "activity", "ts", "actor", "attributes", "flags", "source_order")}
    eo = {k: [] for k in ("event_id", "object_id", "qualifier")}
    order = 0
    for record in records:
        if isinstance(record, OcelObject):
            _add_object(record, source, clock, obj, change, o2o, bad)
            if len(obj["object_id"]) >= batch_rows:
                yield _object_batch(obj, change, o2o, system, bad)
                bad = []
            continue
        e = record
        order += 1
        ts = clock.utc(e.time) if e.time is not None else None
        reason = ("no id, expected the event's id" if not e.id else
                  "no type, expected the event's activity" if not e.type else
                  "no time, expected the event's time" if e.time is None else
                  f"time {json.dumps(str(e.time))} is not an ISO 8601 time" if ts is None else None)
        if reason:
            bad.append((source, e.position, _text(e.raw), reason))
            continue
        event_id = f"{system}:{e.id}"
        ev["event_id"].append(event_id)
        ev["activity"].append(activities.get(e.type, e.type))
        ev["ts"].append(ts)
        actor = e.attributes.get(actor_attr) if actor_attr else None
        ev["actor"].append(None if actor is None else str(actor))
        ev["attributes"].append(as_json(e.attributes))
        ev["flags"].append(clock.flags(ts))
        ev["source_order"].append(order)
        for oid, qualifier in e.objects:
            if oid:
                eo["event_id"].append(event_id)
                eo["object_id"].append(str(oid))
                eo["qualifier"].append(qualifier)
        if len(ev["event_id"]) >= batch_rows:
            yield _event_batch(ev, eo, system, bad)
            bad = []
    if obj["object_id"]:
        yield _object_batch(obj, change, o2o, system, [])
    yield _event_batch(ev, eo, system, bad)


def _add_object(o: OcelObject, source: str, clock: Clock, obj: dict, change: dict, o2o: dict, bad: list) -> None:
    """The object's row (attributes: each one's earliest value), its timed values as changes, its
    links; or a dead letter."""
    if not o.id or not o.type:
        bad.append((source, o.position, _text(o.raw), "no id, expected the object's id" if not o.id
                    else "no type, expected the object's type"))
        return
    first: dict[str, tuple] = {}
    for time, name, value in o.values:
        ts = clock.utc(time) if time is not None else None
        if time is not None and ts is None:
            bad.append((source, f"{o.position}, attribute {name}", _text(o.raw),
                        f"time {json.dumps(str(time))} of attribute {name!r} is not an ISO 8601 time"))
            continue
        if ts is not None:
            change["object_id"].append(o.id)
            change["ts"].append(ts)
            change["attribute"].append(name)
            change["value"].append(json.dumps(value, ensure_ascii=False))
        if value is not None and (name not in first or (ts is not None and first[name][0] is not None
                                                         and ts < first[name][0])):
            first[name] = (ts, value)
    obj["object_id"].append(o.id)
    obj["object_type"].append(o.type)
    obj["attributes"].append(as_json({k: v for k, (_, v) in first.items()}))
    for target, qualifier in o.objects:
        if target:
            o2o["source_id"].append(o.id)
            o2o["target_id"].append(target)
            o2o["qualifier"].append(qualifier)


def _object_batch(obj: dict, change: dict, o2o: dict, system: str, bad: list) -> Batch:
    string = pa.string()
    n = len(obj["object_id"])
    batch = Batch(
        object=pa.table({"object_id": pa.array(obj["object_id"], string),
                         "object_type": pa.array(obj["object_type"], string),
                         "source_system": pa.array([system] * n, string),
                         "attributes": pa.array(obj["attributes"], string)}),
        object_change=pa.table({"object_id": pa.array(change["object_id"], string), "ts": ts_array(change["ts"]),
                                "attribute": pa.array(change["attribute"], string),
                                "value": pa.array(change["value"], string)}),
        object_object=pa.table({k: pa.array(v, string) for k, v in o2o.items()}),
        dead_letter=dead_letters(bad) if bad else None)
    for v in (*obj.values(), *change.values(), *o2o.values()):
        v.clear()
    return batch


def _event_batch(ev: dict, eo: dict, system: str, bad: list) -> Batch:
    string = pa.string()
    n = len(ev["event_id"])
    batch = Batch(
        event=pa.table({"event_id": pa.array(ev["event_id"], string), "activity": pa.array(ev["activity"], string),
                        "ts": ts_array(ev["ts"]), "source_system": pa.array([system] * n, string),
                        "actor": pa.array(ev["actor"], string), "attributes": pa.array(ev["attributes"], string),
                        "flags": pa.array(ev["flags"], pa.list_(string)),
                        "source_order": pa.array(ev["source_order"], pa.int64())}),
        event_object=pa.table({k: pa.array(v, string) for k, v in eo.items()}),
        dead_letter=dead_letters(bad) if bad else None)
    for v in (*ev.values(), *eo.values()):
        v.clear()
    return batch


def _text(raw) -> str:
    return raw() if callable(raw) else str(raw)
