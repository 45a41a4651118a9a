"""State logs through mappings: data files in, canonical tables out."""

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from collectors.errors import UnreadableSource
from collectors.mappings import read_mapping
from collectors.workflow_logs import read_csv, read_jsonl
from models.store import open_store
from models.vocabulary import CASE, CREATE_PURCHASE_ORDER, RECEIVE_INVOICE

DATA = Path(__file__).parent / "data" / "workflow_logs"
REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
ERP = read_mapping(DATA / "erp.toml")
AP = read_mapping(DATA / "ap.toml")


def tables(batches, name):
    parts = [b.tables()[name] for b in batches if name in b.tables()]
    return pa.concat_tables(parts).to_pylist() if parts else []


def test_unparseable_timestamp_goes_to_dead_letter_and_the_rest_lands_in_utc():
    path = DATA / "unparseable_timestamp.csv"
    batches = list(read_csv(path, ERP))
    events = tables(batches, "event")
    assert [(e["event_id"], e["activity"], e["ts"], e["facility"], e["actor"], e["actor_kind"]) for e in events] == [
        ("erp:1", CREATE_PURCHASE_ORDER, datetime(2024, 3, 30, 11, 0), "MERCY-CHI", "ANNA", "person"),  # CET
        ("erp:3", RECEIVE_INVOICE, datetime(2024, 3, 31, 10, 0), "1020", "BOB", "person"),             # CEST
    ]
    assert json.loads(events[0]["attributes"]) == {"amount": 1200.5}
    assert tables(batches, "dead_letter") == [{
        "source": str(path), "position": "line 3",
        "raw": "2;ME21N;31.03.2024 25:00:00;1010;ANNA;4500012346;;99",
        "reason": 'column "changed_on": "31.03.2024 25:00:00" is not a timestamp, expected format %d.%m.%Y %H:%M:%S',
        "context": json.dumps({"format": "csv",   # what a replay needs to re-read the row alone
                               "header": "change_no;tcode;changed_on;plant;user_name;po_number;invoice_no;net_value",
                               "delimiter": ";", "encoding": "utf-8-sig"}),
    }]
    assert tables(batches, "object") == [
        {"object_id": "INV-7", "object_type": "invoice", "source_system": "erp", "attributes": "{}"},
        {"object_id": "PO-4500012345", "object_type": "purchase_order", "source_system": "erp",
         "attributes": '{"total":1200.5}'},
    ]
    assert sorted(tables(batches, "event_object"), key=lambda r: (r["event_id"], r["object_id"])) == [
        {"event_id": "erp:1", "object_id": "PO-4500012345", "qualifier": None},
        {"event_id": "erp:3", "object_id": "INV-7", "qualifier": "billed"},
        {"event_id": "erp:3", "object_id": "PO-4500012345", "qualifier": None},
    ]
    assert tables(batches, "object_object") == [
        {"source_id": "INV-7", "target_id": "PO-4500012345", "qualifier": "bills"}]
    assert sorted((c["ts"], c["value"]) for c in tables(batches, "object_change")) == [
        (datetime(2024, 3, 30, 11, 0), "1200.50"), (datetime(2024, 3, 31, 10, 0), "1200.50")]


def test_bom_and_semicolon_are_detected_and_quotes_kept():
    events = tables(read_csv(DATA / "bom_semicolon.csv", ERP), "event")
    assert [(e["event_id"], e["actor"], e["ts"]) for e in events] == [
        ("erp:10", "Müller, Eva", datetime(2024, 7, 1, 6, 0))]


def test_missing_id_names_the_column():
    batches = list(read_csv(DATA / "missing_id.csv", ERP))
    assert [e["event_id"] for e in tables(batches, "event")] == ["erp:20"]
    assert [(d["position"], d["reason"]) for d in tables(batches, "dead_letter")] == [
        ("line 3", 'column "change_no": empty, expected the source key')]


def test_truncated_csv_line_is_rejected_with_its_raw_text():
    batches = list(read_csv(DATA / "truncated_line.csv", ERP))
    assert [(e["event_id"], e["source_order"]) for e in tables(batches, "event")] == [("erp:30", 2), ("erp:32", 4)]
    assert [(d["position"], d["raw"], d["reason"]) for d in tables(batches, "dead_letter")] == [
        ("line 3", "31;ME21N;02.01.2024 11:00:00;1010", "4 fields where the header has 8 (truncated or malformed line)")]


def test_object_key_not_matching_pattern_is_rejected():
    dead = tables(read_csv(DATA / "object_key_not_matching_pattern.csv", ERP), "dead_letter")
    assert [(d["position"], d["reason"]) for d in dead] == [
        ("line 2", 'column "po_number": "ABC-1" does not match pattern ^(?:PO[- ]?)?(\\d+)$, '
                   "expected a purchase_order key")]


def test_truncated_jsonl_line_is_rejected_and_zones_apply_per_row():
    path = DATA / "truncated_line.jsonl"
    batches = list(read_jsonl(path, AP))
    events = tables(batches, "event")
    assert [(e["activity"], e["ts"], e["actor_kind"], json.loads(e["attributes"])) for e in events] == [
        (RECEIVE_INVOICE, datetime(2024, 10, 27, 8, 0), "service", {"amount": 12.5, "approved": True}),
        ("Approve Invoice", datetime(2024, 3, 10, 12, 0), "person", {"amount": 7, "approved": False}),
    ]
    assert all(len(e["event_id"]) == 32 for e in events)
    raw = path.read_text(encoding="utf-8").split("\n")[1]
    assert [(d["position"], d["raw"], d["reason"]) for d in tables(batches, "dead_letter")] == [
        ("line 2", raw, "not valid JSON (truncated or malformed line), expected a JSON object per line")]
    assert sorted((r["event_id"] == events[0]["event_id"], r["object_id"]) for r in tables(batches, "event_object")) == [
        (False, "INV-1"), (True, "INV-1"), (True, "INV-2")]


def test_unknown_zone_is_rejected_and_dst_applies():
    batches = list(read_jsonl(DATA / "unknown_zone.jsonl", AP))
    assert [e["ts"] for e in tables(batches, "event")] == [datetime(2024, 3, 10, 17, 0)]   # CDT, first DST day
    assert [(d["position"], d["reason"]) for d in tables(batches, "dead_letter")] == [
        ("line 2", 'column "tz": unknown time zone "Mars/Olympus", expected an IANA name such as Europe/Berlin')]


def test_rereading_gives_identical_event_ids_across_block_sizes():
    path = DATA / "truncated_line.jsonl"
    first = [e["event_id"] for e in tables(read_jsonl(path, AP), "event")]
    again = [e["event_id"] for e in tables(read_jsonl(path, AP, batch_rows=1), "event")]
    assert first == again and len(set(first)) == 2


def test_missing_mapped_column_makes_the_file_unreadable():
    with pytest.raises(UnreadableSource, match="invoice_no"):
        list(read_csv(REAL / "running-example.csv" if REAL.exists() else DATA / "missing_id.csv",
                      read_mapping(DATA / "erp.toml")))


@pytest.mark.skipif(not REAL.exists(), reason="shared real-data directory not present next to the repository")
def test_pm4py_convention_csv_reads_without_mapping_and_reingest_changes_nothing():
    path = REAL / "running-example.csv"
    batches = list(read_csv(path, batch_rows=10))
    assert len(tables(batches, "event")) == 42
    assert {(o["object_id"], o["object_type"]) for o in tables(batches, "object")} == {
        (str(n), CASE) for n in range(1, 7)}
    first = tables(batches, "event")[0]
    assert (first["activity"], first["ts"], first["actor"]) == ("register request", datetime(2010, 12, 30, 13, 32), "Pete")
    assert json.loads(first["attributes"])["Costs"] == 50
    store = open_store(":memory:")
    r1 = store.ingest(read_csv(path), str(path), "state_log")
    counts = row_counts(store)
    r2 = store.ingest(read_csv(path), str(path), "state_log")
    assert (r1.accepted, r2.accepted, r2.duplicates) == (42, 0, 42)
    assert counts == row_counts(store) and counts["event"] == 42 and counts["event_object"] == 42


def row_counts(store):
    names = ("event", "object", "object_change", "event_object", "object_object", "dead_letter")
    return {n: store.cursor().execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}


def test_jsonl_lines_that_are_not_objects_are_rejected_by_kind_and_blank_lines_skipped():
    path = DATA / "lines_that_are_not_objects.jsonl"
    batches = list(read_jsonl(path, AP))
    assert [(e["activity"], e["ts"], e["source_order"]) for e in tables(batches, "event")] == [
        ("Approve Invoice", datetime(2024, 3, 10, 12, 0), 3)]
    assert [(d["position"], d["reason"]) for d in tables(batches, "dead_letter")] == [
        ("line 1", "a JSON array, expected a JSON object per line"),
        ("line 4", "a JSON number, expected a JSON object per line")]


def test_value_tables_turn_one_systems_names_into_the_codes_the_others_use(tmp_path):
    (tmp_path / "ap.csv").write_text(
        "id,status,at,invoice,dept,cost_centre\n"
        "1,Received,2024-03-01 10:00:00,AP-1,Operating Room,4100\n"
        "2,Approved,2024-03-02 10:00:00,AP-1,Radiology,4900\n")
    (tmp_path / "ap.toml").write_text(
        '[source]\nsystem = "ap"\n[event]\nid = "id"\nactivity = "status"\ntimestamp = "at"\n'
        '[attributes]\ndepartment = "dept"\ncost_centre = "cost_centre"\n'
        '[[object]]\ntype = "invoice"\nid = "invoice"\nattributes = { department = "dept" }\n'
        '[values.department]\n"Operating Room" = "OR"\n"Laboratory" = "LAB"\n'
        '[values.cost_centre]\n"4100" = "CC-OR"\n')
    batches = list(read_csv(tmp_path / "ap.csv", read_mapping(tmp_path / "ap.toml")))

    assert [json.loads(e["attributes"]) for e in tables(batches, "event")] == [
        {"department": "OR", "cost_centre": "CC-OR"},
        {"department": "Radiology", "cost_centre": 4900}]      # values the table does not name stay
    assert json.loads(tables(batches, "object")[0]["attributes"]) == {"department": "OR"}
    assert [c["value"] for c in tables(batches, "object_change")] == ['"OR"', '"Radiology"']
