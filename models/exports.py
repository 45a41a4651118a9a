"""Exports: the store (or a part of it) as OCEL 2.0 SQLite or JSON, one case notion as XES, and
one case as an audit pack (a zip with its trail, documents, control findings, spans, an OCEL 2.0
log of it and a manifest of hashes).

What is exported is chosen once (`_chosen`: the events and objects, as id lists DuckDB reads by
name), then each file is written from a few set-based queries (SQL in models/sql/exports.sql)
streamed in Arrow batches. An OCEL 2.0 export of a log read by our OCEL importer re-imports to
the same store content; see `write_ocel2_sqlite` for what other sources keep and lose.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import sqlite3
import zipfile
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import quoteattr

import pyarrow as pa

from models import audit
from models import vocabulary as v
from models.filters import ALL, Filters
from models.queries import sql

# The source system our OCEL importer (collectors/ocel.py) gives events read without a mapping;
# their ids are "ocel:<id in the file>", so files carry the id without it. A test checks they agree.
OCEL_SYSTEM = "ocel"
BATCH_ROWS = 50_000
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")

# Declared OCEL 2.0 attribute type -> SQLite column type (a mixed attribute gets no column type,
# so SQLite keeps each value as it is).
SQLITE_TYPES = {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN",
                "time": "TIMESTAMP", "mixed": ""}
XES_TYPES = {bool: "boolean", int: "int", float: "float"}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ExportError(ValueError):
    """An export that cannot be made as asked; the message names the value and what exists."""


# -- choosing ----------------------------------------------------------------------------------
def _params(filters: Filters, object_types, objects) -> dict:
    f = filters.params()
    return {"start": f["start"], "end": f["end"], "facilities": f["facilities"],
            "suppliers": f["suppliers"], "supplier_type": v.SUPPLIER,
            "object_types": list(object_types) if object_types else None,
            "objects": list(objects) if objects is not None else None}


def _run(con, name: str, **params):
    query = sql(name)
    used = {k: val for k, val in params.items() if re.search(rf"\${k}\b", query)}
    return con.sql(query, params=used or None)


@contextmanager
def _chosen(con, filters: Filters = ALL, object_types=None, objects=None):
    """Register `export_event` and `export_object` (the chosen ids) for the block's queries."""
    params = _params(filters, object_types, objects)
    everything = filters == ALL and objects is None
    events = _run(con, "exports.select_events", **params).to_arrow_table()
    con.register("export_event", events)
    try:
        chosen = _run(con, "exports.select_objects", everything=everything, **params).to_arrow_table()
        con.register("export_object", chosen)
        try:
            yield events.num_rows, chosen.num_rows
        finally:
            con.unregister("export_object")
    finally:
        con.unregister("export_event")


def _declared(con, block: str) -> dict[str, dict[str, str]]:
    """type -> {attribute: declared OCEL 2.0 type}, in name order."""
    out: dict[str, dict[str, str]] = {}
    for row in _run(con, block, ocel_system=OCEL_SYSTEM).fetchall():
        kind_of = out.setdefault(row[0], {})
        if row[1] is not None:
            kind_of[row[1]] = _kind(row[2], row[3])
    return out


def _kind(json_types: list[str], all_times: bool) -> str:
    kinds = set(json_types) - {"NULL"}
    if not kinds:
        return "string"
    if kinds <= {"BIGINT", "UBIGINT"}:
        return "integer"
    if kinds == {"DOUBLE"}:
        return "float"
    if kinds == {"BOOLEAN"}:
        return "boolean"
    if kinds == {"VARCHAR"}:
        return "time" if all_times else "string"
    if kinds <= {"ARRAY", "OBJECT", "VARCHAR"}:
        return "string"          # nested values are written as JSON text
    return "mixed"               # e.g. ints and floats: each value written as it is


def _batches(con, name: str, **params) -> Iterator[pa.RecordBatch]:
    reader = _run(con, name, **params).to_arrow_reader(BATCH_ROWS)
    yield from reader


def _rows(con, name: str, **params) -> Iterator[dict]:
    for batch in _batches(con, name, **params):
        yield from batch.to_pylist()


# -- OCEL 2.0 SQLite -----------------------------------------------------------------------------
def write_ocel2_sqlite(con, path, filters: Filters = ALL, object_types=None, objects=None) -> dict:
    """Write the chosen events and objects as an OCEL 2.0 SQLite log at `path` (replaced if it
    exists): event and object tables, one table per event type and per object type with typed
    attribute columns, E2O and O2O with qualifiers, and object attribute values over time (one
    row with every value at the object's first time, then one row per change,
    `ocel_changed_field` naming it). Counts written.

    Exact for logs our OCEL importer read without a mapping (same events, objects, relations and
    changes on re-import). From other sources the file also carries each event's source system,
    facility, actor and actor kind as attributes, and attributes known without a time get
    1970-01-01 (OCEL 2.0's initial value); event ids stay whole."""
    path = Path(path)
    path.unlink(missing_ok=True)
    out = sqlite3.connect(path)
    try:
        with _chosen(con, filters, object_types, objects):
            counts = _sqlite_content(con, out)
        out.commit()
    finally:
        out.close()
    return counts


def _sqlite_content(con, out: sqlite3.Connection) -> dict:
    counts = {"events": 0, "objects": 0, "event_object": 0, "object_object": 0, "object_values": 0}
    out.executescript("""
        CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT);
        CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT);
        CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT);
        CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, ocel_qualifier TEXT,
                                   PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier));
        CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, ocel_qualifier TEXT,
                                    PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier));
    """)
    etypes, otypes = _declared(con, "exports.event_attribute_types"), _declared(con, "exports.object_attribute_types")
    etables, otables = _type_tables(out, "event", etypes), _type_tables(out, "object", otypes)

    insert_typed = {t: _insert(table, ["ocel_id", "ocel_time", *etypes[t]]) for t, table in etables.items()}
    for batch in _batches(con, "exports.events", ocel_system=OCEL_SYSTEM):
        rows = batch.to_pylist()
        out.executemany("INSERT INTO event VALUES (?, ?)", [(r["id"], r["type"]) for r in rows])
        by_type: dict[str, list] = {}
        for r in rows:
            attrs = json.loads(r["attributes"])
            kinds = etypes[r["type"]]
            by_type.setdefault(r["type"], []).append(
                (r["id"], r["time"], *(_sqlite_value(attrs.get(a), k) for a, k in kinds.items())))
        for t, values in by_type.items():
            out.executemany(insert_typed[t], values)
        e2o = [(r["id"], x["objectId"], x["qualifier"]) for r in rows for x in r["relationships"]]
        out.executemany("INSERT OR IGNORE INTO event_object VALUES (?, ?, ?)", e2o)
        counts["events"] += len(rows)
        counts["event_object"] += len(e2o)

    for batch in _batches(con, "exports.objects", with_values=False):
        rows = batch.to_pylist()
        out.executemany("INSERT INTO object VALUES (?, ?)", [(r["id"], r["type"]) for r in rows])
        o2o = [(r["id"], x["objectId"], x["qualifier"]) for r in rows for x in r["relationships"]]
        out.executemany("INSERT OR IGNORE INTO object_object VALUES (?, ?, ?)", o2o)
        counts["objects"] += len(rows)
        counts["object_object"] += len(o2o)

    columns = {t: list(kinds) for t, kinds in otypes.items()}
    insert_obj = {t: _insert(table, ["ocel_id", "ocel_time", "ocel_changed_field", *columns[t]])
                  for t, table in otables.items()}
    for batch in _batches(con, "exports.object_values"):
        by_type = {}
        initial: dict[tuple, dict] = {}
        for r in batch.to_pylist():
            kind = otypes[r["type"]][r["name"]]
            value = _sqlite_value(json.loads(r["value"]) if r["value"] is not None else None, kind)
            if r["initial"]:
                initial.setdefault((r["type"], r["id"], r["time"]), {})[r["name"]] = value
            else:
                cells = [None] * len(columns[r["type"]])
                cells[columns[r["type"]].index(r["name"])] = value
                by_type.setdefault(r["type"], []).append((r["id"], r["time"], r["name"], *cells))
            counts["object_values"] += 1
        for (t, oid, time), values in initial.items():   # one row, no changed field
            by_type.setdefault(t, []).append((oid, time, None, *(values.get(a) for a in columns[t])))
        for t, rows in by_type.items():
            out.executemany(insert_obj[t], rows)
    return counts


def _type_tables(out: sqlite3.Connection, kind: str, types: dict[str, dict[str, str]]) -> dict[str, str]:
    """Create `<kind>_<Map>` per type (Map: the type's letters and digits, unique ignoring case)
    and fill `<kind>_map_type`; type -> table name."""
    tables, taken = {}, set()
    for t, attrs in types.items():
        base = re.sub(r"[^0-9A-Za-z_]", "", t) or "type"
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        tables[t] = table = f"{kind}_{name}"
        cols = ["ocel_id TEXT", "ocel_time TIMESTAMP"] + (["ocel_changed_field TEXT"] if kind == "object" else [])
        cols += [f"{_q(a)} {SQLITE_TYPES[k]}".rstrip() for a, k in attrs.items()]
        out.execute(f"CREATE TABLE {_q(table)} ({', '.join(cols)})")
        out.execute(f"INSERT INTO {kind}_map_type VALUES (?, ?)", (t, name))
    return tables


def _insert(table: str, columns: list[str]) -> str:
    return (f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_value(value, kind: str):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if kind == "integer" and isinstance(value, int) and not -(1 << 63) <= value < (1 << 63):
        return str(value)
    return value


# -- OCEL 2.0 JSON -------------------------------------------------------------------------------
def write_ocel2_json(con, path, filters: Filters = ALL, object_types=None, objects=None) -> dict:
    """Write the chosen events and objects as an OCEL 2.0 JSON log at `path`: objectTypes and
    eventTypes with their attribute types, objects with timed attribute values and O2O,
    events with typed attributes and E2O. Same content and caveats as `write_ocel2_sqlite`."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        return _ocel2_json(con, fh, filters, object_types, objects)


def _ocel2_json(con, fh, filters: Filters = ALL, object_types=None, objects=None) -> dict:
    counts = {"events": 0, "objects": 0, "event_object": 0, "object_object": 0, "object_values": 0}
    dumps = lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    with _chosen(con, filters, object_types, objects):
        etypes, otypes = _declared(con, "exports.event_attribute_types"), _declared(con, "exports.object_attribute_types")
        fh.write('{"objectTypes":' + dumps(_types_json(otypes)) + ',\n"eventTypes":' + dumps(_types_json(etypes)))
        fh.write(',\n"objects":[')
        first = True
        for batch in _batches(con, "exports.objects", with_values=True):
            for r in batch.to_pylist():
                attrs = [{"name": a["name"], "time": a["time"],
                          "value": _json_value(json.loads(a["value"]) if a["value"] is not None else None)}
                         for a in r["attributes"]]
                rels = [{"objectId": x["objectId"], "qualifier": x["qualifier"]} for x in r["relationships"]]
                fh.write(("\n" if first else ",\n") + dumps(
                    {"id": r["id"], "type": r["type"], "attributes": attrs, "relationships": rels}))
                first = False
                counts["objects"] += 1
                counts["object_values"] += len(attrs)
                counts["object_object"] += len(rels)
        fh.write('],\n"events":[')
        first = True
        for batch in _batches(con, "exports.events", ocel_system=OCEL_SYSTEM):
            for r in batch.to_pylist():
                kinds = etypes[r["type"]]
                attrs = json.loads(r["attributes"])
                rels = [{"objectId": x["objectId"], "qualifier": x["qualifier"]} for x in r["relationships"]]
                fh.write(("\n" if first else ",\n") + dumps({
                    "id": r["id"], "type": r["type"], "time": r["time"],
                    "attributes": [{"name": a, "value": _json_value(attrs[a])} for a in kinds if a in attrs],
                    "relationships": rels}))
                first = False
                counts["events"] += 1
                counts["event_object"] += len(rels)
        fh.write("]}\n")
    return counts


def _types_json(types: dict[str, dict[str, str]]) -> list[dict]:
    return [{"name": t, "attributes": [{"name": a, "type": "string" if k == "mixed" else k}
                                       for a, k in attrs.items()]} for t, attrs in types.items()]


def _json_value(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list)) else value


# -- XES ----------------------------------------------------------------------------------------
XES_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000Z"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value={name}/>
"""


def write_xes(con, path, object_type: str, filters: Filters = ALL, objects=None) -> dict:
    """Write the flat log of one case notion as XES at `path` (gzip when it ends in .gz): a
    trace per object of `object_type` (its attributes as first seen), its events in order
    (ts, source order) with concept:name, time:timestamp (UTC, "Z"), org:resource and every
    other attribute typed (lifecycle:transition among them when the source had it). Cases are
    chosen as the process views choose them (first event in the period, facility, supplier) or
    by `objects`. Counts written."""
    known = {r[0] for r in con.sql("SELECT DISTINCT object_type FROM case_variant").fetchall()}
    if object_type not in known:
        raise ExportError(f"no cases of object type {object_type!r}; known: {', '.join(sorted(known)) or '(none)'}")
    params = {**_params(filters, None, objects), "object_type": object_type}
    cases = _run(con, "exports.xes_cases", **params).to_arrow_table()
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    counts = {"cases": 0, "events": 0}
    con.register("export_case", cases.select(["case_id", "ordinal"]))
    try:
        with opener(path, "wt", encoding="utf-8", newline="\n") as fh:
            fh.write(XES_HEADER.format(name=quoteattr(object_type)))
            case_attrs = dict(zip(cases.column("case_id").to_pylist(), cases.column("attributes").to_pylist()))
            current = None
            for batch in _batches(con, "exports.xes_events", object_type=object_type):
                parts = []
                for r in batch.to_pylist():
                    if r["case_id"] != current:
                        if current is not None:
                            parts.append("  </trace>\n")
                        current = r["case_id"]
                        counts["cases"] += 1
                        parts.append("  <trace>\n    <string key=\"concept:name\" value=" + quoteattr(current) + "/>\n")
                        attrs = json.loads(case_attrs.get(current) or "{}")
                        attrs.pop("concept:name", None)
                        parts.extend(_xes_attribute(k, val, "    ") for k, val in sorted(attrs.items()))
                    parts.append(_xes_event(r))
                    counts["events"] += 1
                fh.write("".join(parts))
            if current is not None:
                fh.write("  </trace>\n")
            fh.write("</log>\n")
    finally:
        con.unregister("export_case")
    return counts


def _xes_event(r: dict) -> str:
    lines = ["    <event>\n",
             '      <string key="concept:name" value=' + quoteattr(r["activity"]) + "/>\n",
             '      <date key="time:timestamp" value="' + r["time"] + '"/>\n']
    if r["actor"] is not None:
        lines.append('      <string key="org:resource" value=' + quoteattr(r["actor"]) + "/>\n")
    attrs = json.loads(r["attributes"] or "{}")
    for key in ("concept:name", "time:timestamp", "org:resource"):
        attrs.pop(key, None)
    lines.extend(_xes_attribute(k, val, "      ") for k, val in sorted(attrs.items()))
    lines.append("    </event>\n")
    return "".join(lines)


def _xes_attribute(key: str, value, indent: str) -> str:
    k = quoteattr(key)
    if value is None:
        return ""
    if isinstance(value, list):
        inner = "".join(_xes_attribute(ik, iv, indent + "    ") for item in value
                        for ik, iv in (item.items() if isinstance(item, dict) else [("value", item)]))
        return f"{indent}<list key={k}>\n{indent}  <values>\n{inner}{indent}  </values>\n{indent}</list>\n"
    if isinstance(value, dict):
        inner = "".join(_xes_attribute(ik, iv, indent + "  ") for ik, iv in value.items())
        return f"{indent}<container key={k}>\n{inner}{indent}</container>\n"
    kind = XES_TYPES.get(type(value))
    if kind is None:
        value = str(value)
        kind = "date" if ISO_TIME.fullmatch(value) else "string"
    text = ("true" if value else "false") if kind == "boolean" else str(value)
    return f"{indent}<{kind} key={k} value={quoteattr(text)}/>\n"


# -- audit pack ---------------------------------------------------------------------------------
PACK_FILES = ("trail.csv", "documents.json", "controls.json", "spans.json", "case.ocel.json")
# Control -> the columns of its findings that hold object ids.
CONTROL_IDS = {
    "four_eyes": ("invoice_id", "po_id", "supplier_id"),
    "po_after_invoice": ("invoice_id", "po_id", "supplier_id"),
    "duplicate_invoices": ("invoice_id", "original_invoice_id", "supplier_id"),
    "bank_change_before_payment": ("payment_id", "invoice_id", "supplier_id"),
}


def controls(con) -> dict[str, pa.Table]:
    """Every audit control's findings over the whole store, by control name."""
    return {"four_eyes": audit.four_eyes(con), "po_after_invoice": audit.po_after_invoice(con),
            "duplicate_invoices": audit.duplicate_invoices(con),
            "bank_change_before_payment": audit.bank_change_before_payment(con)}


def case_objects(con, object_id: str) -> list[str]:
    """The objects of a case as its trail sees them: the case object and those one hop from it
    (its events' objects, O2O either way), master data (suppliers, items, contracts) named but
    not followed. Sorted."""
    trail = audit.case_trail(con, object_id)
    found = {object_id}
    for names in trail.column("objects").to_pylist():
        found.update(names or ())
    return sorted(found)


def write_audit_pack(con, object_id: str, path) -> dict:
    """Write the evidence for one case as a zip at `path` (or into a binary file object): trail.csv (audit.case_trail),
    documents.json (the case's objects, their attributes and changes over time), controls.json
    (every control finding that involves them), spans.json (the spans that carried its events),
    case.ocel.json (OCEL 2.0 JSON of those objects, their events and the objects those events
    name) and manifest.json (sha256 of each file and one over them all). Same store, same bytes.
    Returns the manifest."""
    exists = con.sql("SELECT count(*) FROM object WHERE object_id = $id", params={"id": object_id}).fetchall()[0][0]
    if not exists:
        raise ExportError(f"no object {object_id!r} in the store; give an object id, e.g. an invoice's")
    files = _pack_files(con, object_id)
    manifest = {
        "case": object_id,
        "files": [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()} for n, b in files.items()],
    }
    manifest["content_sha256"] = content_hash(manifest["files"])
    files["manifest.json"] = _json_bytes(manifest)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            z.writestr(info, data)
    return manifest


def audit_pack(con, object_id: str) -> bytes:
    """`write_audit_pack` as bytes, for a download."""
    buf = io.BytesIO()
    write_audit_pack(con, object_id, buf)
    return buf.getvalue()


def content_hash(files: list[dict]) -> str:
    """One hash over the pack: sha256 of the lines "<sha256>  <name>" of its files, in order."""
    return hashlib.sha256("".join(f"{f['sha256']}  {f['name']}\n" for f in files).encode()).hexdigest()


def _pack_files(con, object_id: str) -> dict[str, bytes]:
    trail = audit.case_trail(con, object_id)
    objects = case_objects(con, object_id)
    files = {"trail.csv": _csv_bytes(trail)}
    with _chosen(con, objects=objects):
        documents = _rows(con, "exports.case_documents")
        files["documents.json"] = _json_bytes([
            {**d, "attributes": json.loads(d["attributes"] or "null"),
             "changes": [{**c, "value": json.loads(c["value"]) if c["value"] is not None else None}
                         for c in d["changes"]]} for d in documents])
        spans = [{**s, **{k: json.loads(s[k]) if s[k] is not None else None
                          for k in ("attributes", "resource", "events", "links")}}
                 for s in _rows(con, "exports.case_spans")]
        files["spans.json"] = _json_bytes(spans)
    involved = set(objects)
    findings = {}
    for name, table in controls(con).items():
        rows = [r for r in table.to_pylist() if involved & {r.get(c) for c in CONTROL_IDS[name]}]
        findings[name] = rows
    files["controls.json"] = _json_bytes(findings)
    ocel = io.StringIO()
    _ocel2_json(con, ocel, objects=objects)
    files["case.ocel.json"] = ocel.getvalue().encode("utf-8")
    return {name: files[name] for name in PACK_FILES}


def _json_bytes(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=_plain) + "\n").encode("utf-8")


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_bytes(table: pa.Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.column_names)
    for row in table.to_pylist():
        w.writerow([_csv_cell(row[c]) for c in table.column_names])
    return buf.getvalue().encode("utf-8")


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(x) for x in value)
    if isinstance(value, (datetime, date)):
        return _plain(value)
    return str(value)


FORMATS = {"ocel2-sqlite": write_ocel2_sqlite, "ocel2-json": write_ocel2_json}


def export(con, fmt: str, path, *, object_type: str | None = None, filters: Filters = ALL) -> dict:
    """The CLI's export: `fmt` one of ocel2-sqlite, ocel2-json, xes (xes needs `object_type`)."""
    if fmt == "xes":
        if not object_type:
            raise ExportError("xes needs --object-type (the case notion), e.g. invoice")
        return write_xes(con, path, object_type, filters)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; have: ocel2-sqlite, ocel2-json, xes")
    return FORMATS[fmt](con, path, filters, object_types=[object_type] if object_type else None)
