"""OCEL logs: the three OCEL 2.0 formats give one store content; nothing of a real log is lost."""

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from collectors.errors import UnreadableSource
from collectors.mappings import Mapping
from collectors.ocel import read_ocel
from collectors.sources import EVENT_LOG, plan
from models.store import open_store

DATA = Path(__file__).parent / "data" / "ocel"
TABLES = {"event": "event_id", "object": "object_id", "object_change": "object_id, ts, attribute",
          "event_object": "event_id, object_id, qualifier", "object_object": "source_id, target_id, qualifier"}
# The example's SQLite and XML files write times without an offset in Central European time;
# its JSON file writes the same instants in UTC.
CET = Mapping(system="ocel", activity="type", timestamp="time", timezone="Europe/Berlin")


def table(batches, name):
    parts = [b.tables()[name] for b in batches if name in b.tables()]
    return pa.concat_tables(parts).to_pylist() if parts else []


def store_content(path, mapping=None) -> dict:
    store = open_store(":memory:")
    try:
        store.ingest(read_ocel(path, mapping), source="log", kind=EVENT_LOG)
        cur = store.cursor()
        return {name: cur.sql(f"SELECT COLUMNS(lambda c: c <> 'batch_id') FROM {name} ORDER BY {key}").fetchall()
                for name, key in TABLES.items()}
    finally:
        store.close()


def test_the_three_ocel2_formats_give_identical_store_content(real_data):
    sqlite, jsonocel, xmlocel = (store_content(real_data / f"ocel20_example.{s}", CET)
                                 for s in ("sqlite", "jsonocel", "xmlocel"))
    assert sqlite == jsonocel == xmlocel
    assert {k: len(v) for k, v in sqlite.items()} == {
        "event": 13, "object": 9, "object_change": 12, "event_object": 20, "object_object": 7}
    blocked = [r for r in sqlite["object_change"] if r[0] == "R3"]
    assert blocked == [("R3", datetime(1970, 1, 1), "is_blocked", '"No"'),
                       ("R3", datetime(2022, 2, 3, 6, 30), "is_blocked", '"Yes"'),
                       ("R3", datetime(2022, 2, 3, 22, 30), "is_blocked", '"No"')]
    assert next(e for e in sqlite["event"] if e[0] == "ocel:e11") == ("ocel:e11", "Set Payment Block", datetime(2022, 2, 3, 6, 30), "ocel", None,
                                   None, None, '{"invoice_blocker":"Mario"}', [], 11)


def test_times_without_offset_are_utc_unless_the_mapping_names_a_zone(real_data):
    utc, cet = store_content(real_data / "ocel20_example.xmlocel"), store_content(real_data / "ocel20_example.xmlocel", CET)
    assert [(a[2] - b[2]).total_seconds() for a, b in zip(utc["event"], cet["event"])] == [3600.0] * 13


def test_ocel2_p2p_keeps_every_object_link_and_attribute_change(real_data):
    path = real_data / "ocel2-p2p.sqlite"
    [source] = plan([path])
    store = open_store(":memory:")
    try:
        first = store.ingest(source.batches(), source=str(path), kind=source.kind)
        assert (first.accepted, first.rejected) == (14_671, 0)
        assert first.counts == {"object": 9_543, "object_change": 70_039, "object_object": 20_402,
                                "event": 14_671, "event_object": 35_927}
        cur = store.cursor()
        assert cur.sql("SELECT count(*) FROM object WHERE object_id NOT IN (SELECT object_id FROM event_object)"
                       ).fetchall() == [(489,)]
        assert cur.sql("SELECT object_type, attributes FROM object WHERE object_id = 'purchase_order:820'").fetchall() == [
            ("purchase_order", '{"DocumentTypeEKKOBSART":"Standard PO (NB)","PurchasingGroupEKKOEKGRP":3.0,'
             '"PurchasingOrganizationEKKOEKORG":"Global Bike Inc","ReleaseStatusEKKOFRGZU":"Fully Approved",'
             '"VendorEKKOLIFNR":"Speedometer Specialists Co"}')]
        assert cur.sql("""SELECT ts, attribute FROM object_change WHERE object_id = 'purchase_order:820'
                          AND ts > TIMESTAMP '1970-01-01' ORDER BY ts, attribute""").fetchall() == [
            (datetime(2023, 8, 17, 15, 26), "DocumentTypeEKKOBSART"),
            (datetime(2023, 8, 17, 15, 26), "PurchasingGroupEKKOEKGRP"),
            (datetime(2023, 8, 17, 15, 26), "PurchasingOrganizationEKKOEKORG"),
            (datetime(2023, 8, 17, 15, 26), "VendorEKKOLIFNR"),
            (datetime(2023, 8, 23, 4, 17), "ReleaseStatusEKKOFRGZU")]
        assert cur.sql("SELECT * EXCLUDE (batch_id) FROM event WHERE event_id = 'ocel:event:29'").fetchall() == [
            ("ocel:event:29", "Create Purchase Order", datetime(2022, 4, 6, 7, 45), "ocel", None, None, None,
             '{"lifecycle":"complete","resource":"Procurement Department"}', [], 8189)]
        again = store.ingest(plan([path])[0].batches(), source=str(path), kind=source.kind)
        assert (again.accepted, again.duplicates, sum(again.counts.values())) == (0, 14_671, 0)
    finally:
        store.close()


def test_ocel1_json_without_global_event_key_imports(real_data):
    batches = list(read_ocel(real_data / "ocpa_p2p-normal.jsonocel"))
    events, objects = table(batches, "event"), table(batches, "object")
    assert (len(events), len(objects), len(table(batches, "event_object"))) == (720, 781, 3_952)
    assert sorted({o["object_type"] for o in objects}) == ["GDSRCPT", "INVOICE", "MATERIAL", "PURCHORD", "PURCHREQ"]
    assert len({e["activity"] for e in events}) == 9
    assert events[0] == {"event_id": "ocel:0", "activity": "Create Purchase Requisition",
                         "ts": datetime(2021, 3, 1, 8, 0), "source_system": "ocel", "facility": None,
                         "actor": None, "actor_kind": None, "attributes": "{}", "flags": [], "source_order": 1}
    assert [r["object_id"] for r in table(batches, "event_object")[:7]] == [
        "PURCHREQ0", "MATERIAL0", "MATERIAL1", "MATERIAL2", "MATERIAL3", "MATERIAL4", "MATERIAL5"]


def test_bad_records_become_dead_letters_and_values_keep_their_types():
    path = DATA / "missing_time_and_unreadable_time.jsonocel"
    batches = list(read_ocel(path))
    assert table(batches, "object") == [
        {"object_id": "INV-1", "object_type": "Invoice", "source_system": "ocel",
         "attributes": '{"amount":120.5,"blocked":false}'},
        {"object_id": "INV-2", "object_type": "Invoice", "source_system": "ocel", "attributes": "{}"}]
    assert [(c["ts"], c["attribute"], c["value"]) for c in table(batches, "object_change")] == [
        (datetime(2024, 1, 2, 10), "amount", "120.5"), (datetime(1970, 1, 1), "blocked", "false"),
        (datetime(2024, 1, 3, 8), "blocked", "true")]
    assert table(batches, "object_object") == [{"source_id": "INV-2", "target_id": "INV-1", "qualifier": "credits"}]
    assert [(e["event_id"], json.loads(e["attributes"])) for e in table(batches, "event")] == [("ocel:e1", {"lines": 2})]
    letters = table(batches, "dead_letter")
    assert [(d["position"], d["reason"]) for d in letters] == [
        ("object 3", "no type, expected the object's type"),
        ("event 2", "no time, expected the event's time"),
        ("event 3", 'time "yesterday" is not an ISO 8601 time')]
    assert json.loads(letters[2]["raw"]) == {"id": "e3", "type": "Receive Invoice", "time": "yesterday"}


def test_a_file_that_is_not_ocel_is_unreadable_and_named():
    with pytest.raises(UnreadableSource, match="not_an_ocel.sqlite"):
        list(read_ocel(DATA / "not_an_ocel.sqlite"))
    with pytest.raises(UnreadableSource, match="not_an_ocel.sqlite"):
        plan([DATA / "not_an_ocel.sqlite"])


def _reordered(src: Path, dst: Path, order: list[str]) -> Path:
    doc = json.loads(src.read_text(encoding="utf-8"))
    dst.write_text(json.dumps({k: doc[k] for k in order if k in doc}), encoding="utf-8")
    return dst


def test_ocel2_json_declaring_its_types_last_reads_like_one_declaring_them_first(real_data, tmp_path):
    src = real_data / "ocel20_example.jsonocel"
    last = _reordered(src, tmp_path / "types_last.jsonocel", ["events", "objects", "eventTypes", "objectTypes"])
    assert store_content(last, CET) == store_content(src, CET)


def _large_ocel2_json(path: Path, events: int) -> Path:
    """An OCEL 2.0 JSON log of `events` events, each naming its own order object."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"objectTypes": [{"name": "order", "attributes": [{"name": "total", "type": "float"}]}],'
                ' "eventTypes": [{"name": "Pay", "attributes": [{"name": "amount", "type": "float"}]}],'
                ' "objects": [')
        f.write(",".join(json.dumps({"id": f"o{i}", "type": "order", "attributes": [
            {"name": "total", "time": "2024-01-01T00:00:00Z", "value": str(i)}]}) for i in range(events)))
        f.write('], "events": [')
        f.write(",".join(json.dumps({"id": f"e{i}", "type": "Pay", "time": f"2024-01-01T00:{i % 60:02}:00Z",
                                     "attributes": [{"name": "amount", "value": str(i)}],
                                     "relationships": [{"objectId": f"o{i}", "qualifier": "paid"}]})
                         for i in range(events)))
        f.write("]}")
    return path


def _read_counting(path: Path, batch_rows: int) -> tuple[list[tuple[int, int]], int]:
    """(objects, events) per batch, and the peak of Python memory while reading."""
    import tracemalloc

    tracemalloc.start()
    try:
        sizes = [(b.tables()["object"].num_rows if "object" in b.tables() else 0,
                  b.tables()["event"].num_rows if "event" in b.tables() else 0)
                 for b in read_ocel(path, batch_rows=batch_rows)]
        return sizes, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_ocel_json_is_read_in_batches_with_memory_bounded_by_the_batch_not_the_file(tmp_path):
    small, small_peak = _read_counting(_large_ocel2_json(tmp_path / "small.jsonocel", 10_000), 2_000)
    large_file = _large_ocel2_json(tmp_path / "large.jsonocel", 40_000)
    large, large_peak = _read_counting(large_file, 2_000)
    assert sum(o for o, _ in large) == sum(e for _, e in large) == 40_000
    assert max(max(o, e) for o, e in large) == 2_000
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)   # four times the file, same memory
    assert large_peak < large_file.stat().st_size
