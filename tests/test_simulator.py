"""The simulated hospital network: reproducible, and its manifest tells the truth about its data."""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import json
import re
import threading
import tomllib
from collections import Counter, defaultdict
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from unittest.mock import ANY
from zoneinfo import ZoneInfo

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from models.vocabulary import ACTIVITIES
from sample_logs import simulate
from sample_logs.network import DEPARTMENTS

ORDERS = 300


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("network")
    simulate(path, orders=ORDERS, seed=7)
    return path


@pytest.fixture(scope="module")
def manifest(out) -> dict:
    return json.loads((out / "manifest.json").read_text())


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def mappings(out: Path) -> dict[str, dict]:
    return {p.stem: tomllib.loads(p.read_text()) for p in sorted((out / "mappings").glob("*.toml"))}


def rows(out: Path, mapping: dict) -> list[dict]:
    """Every row of the files a mapping claims, as dicts of strings."""
    src = mapping["source"]
    result = []
    for pattern in src["files"]:
        for name in sorted(glob.glob(str(out / pattern))):
            if src["format"] == "csv":
                with open(name, encoding="utf-8-sig", newline="") as f:
                    result += list(csv.DictReader(f, delimiter=src["delimiter"]))
            else:
                with open(name, encoding="utf-8") as f:
                    result += [{k: ("" if v is None else str(v)) for k, v in json.loads(line).items()}
                               for line in f]
    return result


def spans(out: Path) -> list[dict]:
    result = []
    for line in (out / "spans" / "middleware.jsonl").read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            service = next(a["value"]["stringValue"] for a in rs["resource"]["attributes"]
                           if a["key"] == "service.name")
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    attrs = {a["key"]: (int(a["value"]["intValue"]) if "intValue" in a["value"]
                                        else next(iter(a["value"].values()))) for a in s["attributes"]}
                    result.append(dict(s, attrs=attrs, service=service))
    return result


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def erp_time(row: dict) -> datetime:
    local = datetime.strptime(row["CHANGED_ON"], "%d.%m.%Y %H:%M:%S")
    return local.replace(tzinfo=ZoneInfo(row["TZONE"])).astimezone(timezone.utc)


def ap_time(row: dict) -> datetime:
    local = datetime.strptime(row["Timestamp"], "%m/%d/%Y %I:%M:%S %p")
    return local.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(timezone.utc)


def span_end(span: dict) -> datetime:
    return datetime.fromtimestamp(int(span["endTimeUnixNano"]) / 1e9, timezone.utc)


# -- reproducibility ---------------------------------------------------------------------------

def test_same_seed_writes_byte_identical_files_and_another_seed_does_not(out, tmp_path):
    simulate(tmp_path / "again", orders=ORDERS, seed=7)
    simulate(tmp_path / "other", orders=ORDERS, seed=8)
    first = hashes(out)
    assert len(first) >= 8
    assert hashes(tmp_path / "again") == first
    other = hashes(tmp_path / "other")
    changed = [name for name in first if other.get(name) != first[name]]
    assert "manifest.json" in changed and "spans/middleware.jsonl" in changed
    assert "ap/invoice_activity.csv" in changed


def test_size_out_of_range_is_refused(tmp_path):
    with pytest.raises(ValueError, match="orders=99"):
        simulate(tmp_path, orders=99)


def test_manifest_row_counts_match_the_files(out, manifest):
    assert manifest["seed"] == 7 and manifest["orders"] == ORDERS
    assert {f["id"] for f in manifest["facilities"]} == {"MHS-CHI", "MHS-NYC", "MHS-DEN", "MHS-PHX", "MHS-LAX"}
    for name, count in manifest["files"].items():
        lines = (out / name).read_text(encoding="utf-8-sig").splitlines()
        header = 1 if name.endswith(".csv") else 0
        assert len(lines) - header == count, name
    assert len(spans(out)) == manifest["counts"]["spans"]


# -- mappings ----------------------------------------------------------------------------------

def referenced_columns(m: dict) -> set[str]:
    cols = {m["event"][k] for k in ("id", "activity", "timestamp", "facility", "actor",
                                    "actor_kind", "timezone_column") if k in m["event"]}
    cols |= set(m.get("attributes", {}).values())
    for obj in m.get("object", []):
        cols.add(obj["id"])
        cols |= set(obj.get("attributes", {}).values())
    return cols


def test_every_mapping_parses_and_names_only_existing_columns(out):
    found = mappings(out)
    assert set(found) == {"procurement", "erp", "ap", "supplier_portal"}
    for name, m in found.items():
        data = rows(out, m)
        assert data, name
        present = set().union(*(r.keys() for r in data))
        assert referenced_columns(m) <= present, (name, referenced_columns(m) - present)
        assert set(m["activities"].values()) <= set(ACTIVITIES), name
        types = {o["type"] for o in m["object"]}
        for link in m.get("link", []):
            assert {link["source"], link["target"]} <= types, name


def test_every_source_activity_is_mapped_except_portal_acknowledgements(out):
    for name, m in mappings(out).items():
        seen = {r[m["event"]["activity"]] for r in rows(out, m)}
        assert seen - set(m["activities"]) <= {"PO_ACKNOWLEDGED"}, name


def test_timestamps_parse_with_the_mapping_formats(out):
    for name, m in mappings(out).items():
        ev = m["event"]
        for r in rows(out, m)[:200]:
            text = r[ev["timestamp"]]
            if "timestamp_format" in ev:
                datetime.strptime(text, ev["timestamp_format"])
            else:
                assert utc(text).tzinfo is not None, (name, text)


def canonical_ids(out: Path, m: dict, object_type: str) -> set[str]:
    obj = next(o for o in m["object"] if o["type"] == object_type)
    ids = set()
    for r in rows(out, m):
        cell = r.get(obj["id"], "")
        for part in (cell.split(obj["separator"]) if "separator" in obj else [cell]):
            if not part:
                continue
            key = re.match(obj["pattern"], part).group(1) if "pattern" in obj else part
            ids.add(obj.get("template", "{}").format(key))
    return ids


def test_object_templates_make_the_same_ids_in_every_system(out, manifest):
    m = mappings(out)
    erp_po = canonical_ids(out, m["erp"], "purchase_order")
    assert len(erp_po) == ORDERS
    assert canonical_ids(out, m["ap"], "purchase_order") <= erp_po
    assert canonical_ids(out, m["supplier_portal"], "purchase_order") <= erp_po
    assert canonical_ids(out, m["procurement"], "purchase_order") == erp_po
    invoices = canonical_ids(out, m["ap"], "invoice")
    assert len(invoices) == manifest["counts"]["invoices"]
    assert canonical_ids(out, m["erp"], "invoice") <= invoices
    assert canonical_ids(out, m["supplier_portal"], "invoice") <= invoices
    assert canonical_ids(out, m["ap"], "po_line") <= canonical_ids(out, m["erp"], "po_line")
    assert canonical_ids(out, m["erp"], "supplier") >= canonical_ids(out, m["ap"], "supplier")


def test_every_span_names_an_event_the_state_logs_define(out):
    defined = set()
    for m in mappings(out).values():
        defined |= {f"{m['source']['system']}:{r[m['event']['id']]}" for r in rows(out, m)}
    carried = {s["attrs"]["p2p.event.id"] for s in spans(out)}
    assert carried and carried <= defined, sorted(carried - defined)[:5]


def test_span_json_follows_otlp_json(out):
    s = spans(out)[0]
    assert re.fullmatch(r"[0-9a-f]{32}", s["traceId"]) and re.fullmatch(r"[0-9a-f]{16}", s["spanId"])
    assert isinstance(s["startTimeUnixNano"], str) and isinstance(s["kind"], int)
    kinds = Counter(x["kind"] for x in spans(out))
    assert set(kinds) == {3, 4, 5, 1}   # CLIENT, PRODUCER, CONSUMER, INTERNAL


# -- planted truths ----------------------------------------------------------------------------

def test_outage_window_has_no_erp_to_ap_commits_and_invoices_found_no_po(out, manifest):
    truth = manifest["truths"]["outage"]
    start, end = utc(truth["start"]), utc(truth["end"])
    writes = [s for s in spans(out) if s["kind"] == 3 and s["attrs"]["p2p.source.system"] == "erp"
              and s["attrs"]["p2p.target.system"] == "ap"]
    committed = [s for s in writes if s["attrs"]["http.response.status_code"] < 400]
    assert not [s for s in committed if start <= span_end(s) < end]
    failed = [s for s in writes if start <= span_end(s) < end]
    assert failed and all(s["attrs"]["http.response.status_code"] == 503 for s in failed)
    assert {s["attrs"]["p2p.object.id"] for s in failed} >= set(truth["delayed_purchase_orders"]["ids"])
    # each delayed PO committed only after the outage ended
    for po in truth["delayed_purchase_orders"]["ids"]:
        ends = [span_end(s) for s in committed if s["attrs"]["p2p.object.id"] == po]
        assert ends and min(ends) >= end
    assert truth["missing_po_invoices"]["count"] >= 1
    ap = rows(out, mappings(out)["ap"])
    for inv in truth["missing_po_invoices"]["ids"]:
        match = [r for r in ap if r["Invoice ID"] == "AP-" + inv[4:] and r["Status"] == "Match Completed"]
        assert match[0]["Exception Reason"] == "PO_NOT_FOUND"
        received = min(ap_time(r) for r in ap if r["Invoice ID"] == "AP-" + inv[4:])
        assert start <= received < end


def test_over_contract_supplier_invoices_above_contract_price(out, manifest):
    truth = manifest["truths"]["over_contract_supplier"]
    m = mappings(out)
    contract = {r["PO_ITEM"]: float(r["CONTRACT_PRICE"]) for r in rows(out, m["erp"]) if r["TCODE"] == "ME21N"}
    vendor = truth["supplier_id"][4:]
    above, total, others_above, others = 0, 0, 0, 0
    portal_lines = [("PO-" + r["poLine"][3:], r["supplierCode"], float(r["unitPrice"]))
                    for r in rows(out, m["supplier_portal"]) if r["eventType"] == "INVOICE_SUBMITTED"]
    ap_lines = [("PO-" + r["PO Line"], r["Vendor ID"][1:], float(r["Unit Price"]))
                for r in rows(out, m["ap"]) if r["Status"] == "Received"]
    for po_line, supplier, price in portal_lines + ap_lines:
        limit = contract[po_line[3:]] * (1 + truth["percent_above_contract"] / 100 / 2)
        if supplier == vendor:
            total, above = total + 1, above + (price > limit)
        else:
            others, others_above = others + 1, others_above + (price > limit)
    assert total >= 5 and above / total > 0.6
    assert others_above / others < 0.1


def test_duplicate_invoices_are_in_ap_with_reformatted_numbers(out, manifest):
    truth = manifest["truths"]["duplicate_invoices"]
    assert truth["count"] >= 3
    ap = rows(out, mappings(out)["ap"])
    first = {}
    for r in ap:
        first.setdefault(r["Invoice ID"], r)
    for pair in truth["pairs"]:
        orig, dup = first["AP-" + pair["original"][4:]], first["AP-" + pair["duplicate"][4:]]
        assert orig["Invoice Number"] == pair["original_number"]
        assert dup["Invoice Number"] == pair["duplicate_number"] != pair["original_number"]
        assert re.sub(r"\D", "", dup["Invoice Number"]).lstrip("0") == re.sub(r"\D", "", orig["Invoice Number"]).lstrip("0")
        assert dup["Vendor ID"] == orig["Vendor ID"] and dup["Invoice Total"] == orig["Invoice Total"]
        days = (ap_time(dup) - ap_time(orig)).total_seconds() / 86400
        assert 0 < days <= 10


def test_four_eyes_person_creates_orders_and_approves_their_invoices(out, manifest):
    truth = manifest["truths"]["four_eyes_violation"]
    person = truth["person"]
    m = mappings(out)
    created = {"PO-" + r["EBELN"] for r in rows(out, m["erp"]) if r["TCODE"] == "ME21N" and r["USER_NAME"] == person}
    approved = {"PO-" + r["PO Number"][3:] for r in rows(out, m["ap"]) if r["Status"] == "Approved" and r["User"] == person}
    both = created & approved
    assert len(both) >= 1 and both == set(truth["purchase_orders"]["ids"])


def test_after_the_fact_orders_are_invoiced_before_requisition_and_concentrated(out, manifest):
    truth = manifest["truths"]["after_the_fact_orders"]
    m = mappings(out)
    req = {"PO-" + r["poNumber"]: (utc(r["occurredAt"]), r["siteCode"], r["department"], r["caseType"])
           for r in rows(out, m["procurement"]) if r["status"] == "REQ_SUBMITTED" and r["poNumber"]}
    invoiced = {}
    for r in rows(out, m["ap"]):
        date = datetime.strptime(r["Invoice Date"], "%m/%d/%Y").replace(tzinfo=timezone.utc)
        po = "PO-" + r["PO Number"][3:]
        invoiced[po] = min(invoiced.get(po, date), date)
    ids = truth["purchase_orders"]["ids"]
    assert len(ids) >= 3
    for po in ids:
        assert invoiced[po] < req[po][0] and req[po][3] != "bill_only"
    site = next(f["procurement_site"] for f in manifest["facilities"] if f["id"] == truth["facility"])
    in_dept = [po for po in ids if req[po][1] == site and req[po][2] == truth["department"]]
    assert len(in_dept) == truth["in_department"] and len(in_dept) / len(ids) > 0.5
    # bill-only implants are used before ordering but invoiced after the order exists
    bill_only = [po for po, v in req.items() if v[3] == "bill_only" and po in invoiced]
    assert bill_only and all(invoiced[po].date() >= req[po][0].astimezone(timezone.utc).date() for po in bill_only)


def test_month_end_days_have_more_invoices_than_other_days(out, manifest):
    dates = {}
    for r in rows(out, mappings(out)["ap"]):
        dates[r["Invoice ID"]] = datetime.strptime(r["Invoice Date"], "%m/%d/%Y").date()
    per_day = Counter(dates.values())
    def month_end(d):
        return (d.replace(day=28) + __import__("datetime").timedelta(days=4)).replace(day=1) - d <= __import__("datetime").timedelta(days=3)
    end = [c for d, c in per_day.items() if month_end(d)]
    rest = [c for d, c in per_day.items() if not month_end(d)]
    assert sum(end) / len(end) > 1.5 * sum(rest) / len(rest)
    truth = manifest["truths"]["month_end_surge"]
    assert truth["invoices_per_month_end_day"] > truth["invoices_per_other_day"]


def test_rate_limit_429_spans_cluster_in_erp_business_hours(out, manifest):
    throttled = [s for s in spans(out) if s["attrs"].get("http.response.status_code") == 429]
    assert throttled and all(s["attrs"]["p2p.target.system"] == "erp" for s in throttled)
    chicago = [span_end(s).astimezone(ZoneInfo("America/Chicago")) for s in throttled]
    busy = [t for t in chicago if t.weekday() < 5 and 8 <= t.hour < 18]
    assert len(busy) / len(chicago) > 0.8
    assert manifest["truths"]["erp_rate_limiting"]["spans_429"] == len(throttled)


def test_bank_details_change_shortly_before_the_suppliers_largest_payment(out, manifest):
    truth = manifest["truths"]["bank_change_before_payment"]
    erp = rows(out, mappings(out)["erp"])
    vendor = truth["supplier_id"][4:]
    change = [erp_time(r) for r in erp if r["TCODE"] == "XK02_BANK" and r["LIFNR"] == vendor]
    release = [r for r in erp if r["TCODE"] == "BNK_APP" and r["PAYMENT_DOC"] == truth["payment_id"][4:]]
    assert len(change) == 1 and len(release) == 1
    gap = (erp_time(release[0]) - change[0]).total_seconds() / 3600
    assert 0 < gap <= 7 * 24
    amounts = [float(r["NETWR"]) for r in erp if r["TCODE"] == "BNK_APP" and r["LIFNR"] == vendor]
    assert float(release[0]["NETWR"]) == max(amounts) == pytest.approx(truth["amount"])


# -- OTLP over HTTP ----------------------------------------------------------------------------

def test_with_an_endpoint_spans_really_go_over_http(tmp_path):
    bodies: list[bytes] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                bodies.append(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sent = simulate(tmp_path / "http", orders=100, seed=3,
                        otlp_endpoint=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    received = 0
    services = set()
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for rs in request.resource_spans:
            services |= {a.value.string_value for a in rs.resource.attributes if a.key == "service.name"}
            received += sum(len(ss.spans) for ss in rs.scope_spans)
    assert received == sent["counts"]["spans"] > 0
    assert services == {"procurement-erp-bridge", "erp-ap-connector", "supplier-portal-gateway"}
    assert not (tmp_path / "http" / "spans").exists()
    simulate(tmp_path / "file", orders=100, seed=3)
    assert json.loads((tmp_path / "file" / "manifest.json").read_text())["counts"]["spans"] == received


def test_without_spans_the_state_logs_and_truths_are_the_same(out, manifest, tmp_path):
    bare = simulate(tmp_path / "bare", orders=ORDERS, seed=7, spans=False)
    with_spans = hashes(out)
    del with_spans["spans/middleware.jsonl"], with_spans["manifest.json"]
    assert hashes(tmp_path / "bare") == {**with_spans, "manifest.json": ANY}
    assert bare["truths"] == manifest["truths"]
    assert bare["counts"]["spans"] == 0 and bare["spans_sent_to"] is None


def test_every_system_records_departments_by_the_codes_the_department_filter_offers(simulated):
    from models import dimensions

    cur, _ = simulated
    offered = set(dimensions.departments(cur))
    recorded = {r[0] for r in cur.sql("SELECT DISTINCT attributes->>'department' FROM event "
                                      "WHERE attributes->>'department' IS NOT NULL").fetchall()}
    assert offered == {code for code, _, _ in DEPARTMENTS}
    assert recorded == offered   # the AP platform's names ("Operating Room") arrive as codes ("OR")
