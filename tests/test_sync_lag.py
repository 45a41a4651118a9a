"""Sync lag: hand-computed on three events, then found (not assumed) in a simulated network."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from models.filters import Filters
from models import sync_lag
from models import vocabulary as v
from models.batches import Batch
from models.store import open_store

# -- 1. three events, their traces, lags worked out by hand -----------------------------------
#
# E1 erp:1 (PO-1, MHS-A): no state-log event, so its time is the root span's start 10:00:00.5.
#    One trace fans out: written into AP at 10:00:32 (lag 31.5 s) and the supplier portal at
#    10:00:41.25 (lag 40.75 s). The root and transform name no target.
# E2 ap:2 (INV-2, MHS-B), AP -> ERP: state log says 11:00:00, published 11:00:02. The first
#    write gets 429, the retry two minutes later commits at 11:02:10: lag 130 s, 2 attempts.
# E3 erp:3 (PO-3, MHS-A), ERP -> AP: two writes answered 503, nothing committed; the last span
#    the store saw ends 12:01:13, so at the default as_of it is 73 s old.

DAY = datetime(2025, 3, 4)


def at(hms: str) -> datetime:
    h, m, s = hms.split(":")
    return DAY + timedelta(hours=int(h), minutes=int(m), seconds=float(s))


def _attrs(event, target=None, http=None):
    eid, etype, otype, oid, src, fac, sup = event
    a = {v.EVENT_ID: eid, v.EVENT_TYPE: etype, v.OBJECT_TYPE: otype, v.OBJECT_ID: oid,
         v.SOURCE_SYSTEM: src, v.FACILITY_ID: fac, v.SUPPLIER_ID: sup}
    if target:
        a[v.TARGET_SYSTEM] = target
    if http:
        a[v.HTTP_STATUS_CODE] = http
    return json.dumps(a)


E1 = ("erp:1", "purchase_order.approved", v.PURCHASE_ORDER, "PO-1", v.ERP, "MHS-A", "SUP-1")
E2 = ("ap:2", "invoice.approved", v.INVOICE, "INV-2", v.AP, "MHS-B", "SUP-2")
E3 = ("erp:3", "purchase_order.approved", v.PURCHASE_ORDER, "PO-3", v.ERP, "MHS-A", "SUP-1")

# trace, span, parent, name, kind, service, start, end, status, attributes
SPANS = [
    ("t1", "r1", None, "erp.outbox publish", "PRODUCER", "erp-out", "10:00:00.5", "10:00:01", "UNSET", _attrs(E1)),
    ("t1", "x1", "r1", "transform", "INTERNAL", "erp-out", "10:00:30", "10:00:31", "UNSET", _attrs(E1)),
    ("t1", "w1", "r1", "PUT /ap/po", "CLIENT", "erp-out", "10:00:31", "10:00:32", "UNSET", _attrs(E1, v.AP, 200)),
    ("t1", "w2", "r1", "POST /portal/po", "CLIENT", "erp-out", "10:00:40", "10:00:41.25", "UNSET",
     _attrs(E1, v.SUPPLIER_PORTAL, 201)),
    ("t2", "r2", None, "ap.outbox publish", "PRODUCER", "ap-erp", "11:00:02", "11:00:03", "UNSET", _attrs(E2, v.ERP)),
    ("t2", "x2", "r2", "transform", "INTERNAL", "ap-erp", "11:00:05", "11:00:06", "UNSET", _attrs(E2, v.ERP)),
    ("t2", "a2", "r2", "POST /erp/invoices", "CLIENT", "ap-erp", "11:00:06", "11:00:07", "ERROR", _attrs(E2, v.ERP, 429)),
    ("t2", "b2", "r2", "POST /erp/invoices", "CLIENT", "ap-erp", "11:02:07", "11:02:10", "UNSET", _attrs(E2, v.ERP, 201)),
    ("t3", "r3", None, "erp.outbox publish", "PRODUCER", "erp-out", "12:00:00.25", "12:00:01", "UNSET", _attrs(E3, v.AP)),
    ("t3", "x3", "r3", "transform", "INTERNAL", "erp-out", "12:00:10", "12:00:11", "UNSET", _attrs(E3, v.AP)),
    ("t3", "a3", "r3", "PUT /ap/po", "CLIENT", "erp-out", "12:00:11", "12:00:12", "ERROR", _attrs(E3, v.AP, 503)),
    ("t3", "b3", "r3", "PUT /ap/po", "CLIENT", "erp-out", "12:01:12", "12:01:13", "ERROR", _attrs(E3, v.AP, 503)),
]


def span_table(rows) -> pa.Table:
    cols = list(zip(*rows))
    return pa.table({
        "trace_id": cols[0], "span_id": cols[1], "parent_span_id": pa.array(cols[2], pa.string()),
        "name": cols[3], "kind": cols[4], "service": cols[5],
        "start_time": pa.array([at(t) for t in cols[6]], pa.timestamp("us")),
        "end_time": pa.array([at(t) for t in cols[7]], pa.timestamp("us")),
        "status_code": cols[8], "attributes": cols[9],
    })


def event_table(rows) -> pa.Table:
    cols = list(zip(*rows))
    return pa.table({"event_id": cols[0], "activity": cols[1],
                     "ts": pa.array([at(t) for t in cols[2]], pa.timestamp("us")),
                     "source_system": cols[3], "facility": cols[4],
                     "source_order": pa.array(range(len(rows)), pa.int64())})


EVENTS = [("ap:2", v.APPROVE_INVOICE, "11:00:00", v.AP, "MHS-B"),
          ("erp:3", v.APPROVE_PURCHASE_ORDER, "12:00:00", v.ERP, "MHS-A")]


@pytest.fixture
def hand(tmp_path):
    store = open_store(tmp_path / "p2p.duckdb")
    # spans first, the state log after: the event times must still come from the state log
    store.ingest([Batch(span=span_table(SPANS))], source="spans.jsonl", kind="trace_file")
    store.ingest([Batch(event=event_table(EVENTS))], source="log.csv", kind="state_log")
    yield store.cursor()
    store.close()


def test_one_row_per_event_and_target_with_hand_computed_lags(hand):
    rows = sync_lag.hops(hand).select(
        ["event_id", "target_system", "source_system", "facility", "event_time", "commit_time",
         "lag_s", "age_s", "attempts", "retries", "got_429", "got_5xx", "trace_id"]).to_pylist()
    assert rows == [
        dict(event_id="erp:1", target_system="ap", source_system="erp", facility="MHS-A",
             event_time=at("10:00:00.5"), commit_time=at("10:00:32"), lag_s=31.5, age_s=None,
             attempts=1, retries=0, got_429=False, got_5xx=False, trace_id="t1"),
        dict(event_id="erp:1", target_system="supplier_portal", source_system="erp", facility="MHS-A",
             event_time=at("10:00:00.5"), commit_time=at("10:00:41.25"), lag_s=40.75, age_s=None,
             attempts=1, retries=0, got_429=False, got_5xx=False, trace_id="t1"),
        dict(event_id="ap:2", target_system="erp", source_system="ap", facility="MHS-B",
             event_time=at("11:00:00"), commit_time=at("11:02:10"), lag_s=130.0, age_s=None,
             attempts=2, retries=1, got_429=True, got_5xx=False, trace_id="t2"),
        dict(event_id="erp:3", target_system="ap", source_system="erp", facility="MHS-A",
             event_time=at("12:00:00"), commit_time=None, lag_s=None, age_s=73.0,
             attempts=2, retries=1, got_429=False, got_5xx=True, trace_id="t3"),
    ]


def test_system_pairs_percentiles_sla_and_unsynced(hand):
    got = sync_lag.by_system_pair(hand, sla_seconds=35, tolerance_seconds=60).to_pylist()
    assert got == [   # worst p95 first
        dict(source_system="ap", target_system="erp", events=1, committed=1, p50_s=130.0, p95_s=130.0,
             p99_s=130.0, max_lag_s=130.0, share_over_sla=1.0, unsynced=0),
        dict(source_system="erp", target_system="supplier_portal", events=1, committed=1, p50_s=40.75,
             p95_s=40.75, p99_s=40.75, max_lag_s=40.75, share_over_sla=1.0, unsynced=0),
        dict(source_system="erp", target_system="ap", events=2, committed=1, p50_s=31.5, p95_s=31.5,
             p99_s=31.5, max_lag_s=31.5, share_over_sla=0.5, unsynced=1),   # E3: 73 s old, no commit
    ]
    # a tolerance beyond its age: E3 is late, not yet unsynced
    assert sync_lag.by_system_pair(hand, sla_seconds=35, tolerance_seconds=74)["unsynced"].to_pylist() == [0, 0, 0]


def test_facility_percentiles_interpolate_between_committed_lags(hand):
    got = {r["facility"]: r for r in sync_lag.by_facility(hand, sla_seconds=35, tolerance_seconds=60).to_pylist()}
    a = got["MHS-A"]   # lags 31.5 and 40.75 (E1 into AP and the portal); E3 not committed
    assert (a["events"], a["committed"], a["unsynced"]) == (3, 2, 1)
    assert a["p50_s"] == pytest.approx(36.125)
    assert a["p95_s"] == pytest.approx(31.5 + 0.95 * 9.25)
    assert a["p99_s"] == pytest.approx(31.5 + 0.99 * 9.25)
    assert a["share_over_sla"] == pytest.approx(2 / 3)
    assert got["MHS-B"]["p50_s"] == 130.0
    assert sync_lag.by_facility(hand, filters=Filters(facilities=("MHS-B",)))["facility"].to_pylist() == ["MHS-B"]


def test_unsynced_lists_only_events_older_than_the_tolerance(hand):
    listed = sync_lag.unsynced(hand, tolerance_seconds=60).select(
        ["event_id", "target_system", "age_s", "attempts", "got_5xx"]).to_pylist()
    assert listed == [dict(event_id="erp:3", target_system="ap", age_s=73.0, attempts=2, got_5xx=True)]
    assert sync_lag.unsynced(hand, tolerance_seconds=73).num_rows == 0
    later = sync_lag.unsynced(hand, tolerance_seconds=3600, as_of=at("13:00:01"))
    assert later["age_s"].to_pylist() == [3601.0]


def test_slowest_is_the_retried_invoice(hand):
    assert sync_lag.slowest(hand, 2)["event_id"].to_pylist() == ["ap:2", "erp:1"]


def test_critical_path_charges_the_retry_wait_to_the_write(hand):
    # event 11:00:00 -> root starts 11:00:02 (wait 2, self 1) -> transform after 2 s (self 1)
    # -> 429 attempt (self 1) -> 120 s Retry-After -> the write that commits (self 3) = 130 s
    got = sync_lag.critical_path(hand, "t2").select(
        ["span_id", "depth", "start_offset_s", "duration_s", "http_status", "self_s", "wait_s",
         "contribution_s", "step_s", "critical"]).to_pylist()
    assert got == [
        dict(span_id="r2", depth=0, start_offset_s=2.0, duration_s=1.0, http_status=None, self_s=1.0,
             wait_s=2.0, contribution_s=3.0, step_s=3.0, critical=False),
        dict(span_id="x2", depth=1, start_offset_s=5.0, duration_s=1.0, http_status=None, self_s=1.0,
             wait_s=2.0, contribution_s=3.0, step_s=3.0, critical=False),
        dict(span_id="a2", depth=1, start_offset_s=6.0, duration_s=1.0, http_status=429, self_s=1.0,
             wait_s=0.0, contribution_s=1.0, step_s=124.0, critical=True),
        dict(span_id="b2", depth=1, start_offset_s=127.0, duration_s=3.0, http_status=201, self_s=3.0,
             wait_s=120.0, contribution_s=123.0, step_s=124.0, critical=True),
    ]
    assert sum(r["contribution_s"] for r in got) == 130.0


def test_critical_path_of_a_fan_out_follows_the_asked_target(hand):
    # into the portal: root 0.5 s, poll wait 29 s + transform 1 s, the AP write on the way (1 s),
    # then 8 s until the portal write, which takes 1.25 s
    got = sync_lag.critical_path(hand, "t1", target=v.SUPPLIER_PORTAL)
    rows = {r["span_id"]: r for r in got.to_pylist()}
    assert [rows[s]["contribution_s"] for s in ("r1", "x1", "w1", "w2")] == [0.5, 30.0, 1.0, 9.25]
    assert [s for s, r in rows.items() if r["critical"]] == ["x1"]
    assert sum(r["contribution_s"] for r in rows.values()) == 40.75


def test_a_later_load_bringing_the_commit_turns_unsynced_into_lag(tmp_path):
    store = open_store(tmp_path / "p2p.duckdb")
    try:
        store.ingest([Batch(span=span_table(SPANS), event=event_table(EVENTS))], source="a", kind="trace_file")
        late = ("t3", "c3", "r3", "PUT /ap/po", "CLIENT", "erp-out", "12:31:13", "12:31:14", "UNSET",
                _attrs(E3, v.AP, 200))
        store.ingest([Batch(span=span_table([late]))], source="b", kind="otlp")
        row = [r for r in sync_lag.hops(store.cursor()).to_pylist() if r["event_id"] == "erp:3"]
        assert [(r["lag_s"], r["attempts"], r["got_5xx"], r["age_s"]) for r in row] == [(1874.0, 3, True, None)]
        assert sync_lag.unsynced(store.cursor(), tolerance_seconds=0).num_rows == 0
    finally:
        store.close()


# -- 2. found, not assumed: the simulator's planted outage and rate limiting --------------------

@pytest.fixture
def simulated_hops(network):
    store, manifest = network
    return store.cursor(), manifest["truths"], manifest


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.rstrip("Z"))


def test_every_carried_event_has_a_hop_and_a_commit(simulated_hops):
    con, _, manifest = simulated_hops
    hops = sync_lag.hops(con)
    spans = con.sql("SELECT count(DISTINCT trace_id) FROM span").fetchall()[0][0]
    assert hops.num_rows == spans                      # one trace per event x target here
    assert hops["commit_time"].null_count == 0         # the simulator commits everything, in the end
    assert sync_lag.unsynced(con, tolerance_seconds=0).num_rows == 0


def test_no_erp_to_ap_commit_during_the_outage_and_events_wait_for_its_end(simulated_hops):
    con, truths, _ = simulated_hops
    start, end = _utc(truths["outage"]["start"]), _utc(truths["outage"]["end"])
    erp_ap = sync_lag.hops(con, source=v.ERP, target=v.AP).to_pylist()
    assert not [h for h in erp_ap if start <= h["commit_time"] < end]
    during = [h for h in erp_ap if start <= h["event_time"] < end]
    assert during, "no ERP->AP event was published during the outage"
    short = [h["event_id"] for h in during if h["lag_s"] < (end - h["event_time"]).total_seconds()]
    assert short == []
    # the hops that met 503s are exactly the orders and receipts the manifest says were delayed
    failed = {h["object_id"] for h in erp_ap if h["got_5xx"]}
    o = truths["outage"]
    assert len(failed) == o["delayed_purchase_orders"]["count"] + o["delayed_goods_receipts"]["count"]
    assert set(o["delayed_purchase_orders"]["ids"]) <= failed


def test_the_outage_is_the_worst_lag_period(simulated_hops):
    con, truths, _ = simulated_hops
    start, end = _utc(truths["outage"]["start"]), _utc(truths["outage"]["end"])
    for bucket, first in (("hour", start), ("day", start.replace(hour=0))):
        rows = sync_lag.over_time(con, bucket).to_pylist()
        worst = max(rows, key=lambda r: r["p95_s"])
        assert (worst["source_system"], worst["target_system"]) == (v.ERP, v.AP)
        assert first <= worst["bucket"] < end
    pairs = sync_lag.by_system_pair(con).to_pylist()
    erp_ap = next(p for p in pairs if (p["source_system"], p["target_system"]) == (v.ERP, v.AP))
    assert erp_ap["max_lag_s"] == max(p["max_lag_s"] for p in pairs)
    assert erp_ap["max_lag_s"] > 3600


def test_429s_fall_in_erp_business_hours_and_slow_those_hours_down(simulated_hops):
    con, truths, manifest = simulated_hops
    limited = truths["erp_rate_limiting"]
    erp_zone = manifest["facilities"][0]["timezone"]   # the ERP runs in the first facility's zone
    hours = sync_lag.business_hours(con, erp_zone, 8, 18).to_pylist()
    throttled = {(r["source_system"], r["target_system"]) for r in hours if r["events_429"]}
    assert throttled and {t for _, t in throttled} == {v.ERP}     # only writes into the ERP
    services = {h["service"] for h in sync_lag.hops(con, target=v.ERP).to_pylist() if h["got_429"]}
    assert services <= set(limited["services"])
    # every failed write into the ERP is a 429 span of the manifest
    retries = sum(h["retries"] for h in sync_lag.hops(con, target=v.ERP).to_pylist())
    assert retries == limited["spans_429"]
    for pair in throttled:
        busy, quiet = (next(r for r in hours if (r["source_system"], r["target_system"]) == pair
                            and r["business_hours"] is b) for b in (True, False))
        assert busy["events_429"] > quiet["events_429"]
        assert busy["share_429"] > 5 * quiet["share_429"]
        assert busy["p95_s"] > quiet["p95_s"]
    # hour of week: the busiest 429 hour is a weekday hour inside 8-18 in the ERP's zone
    week = sync_lag.by_hour_of_week(con, erp_zone, target=v.ERP).to_pylist()
    top = max(week, key=lambda r: r["events_429"])
    assert top["day_of_week"] <= 5 and 8 <= top["hour"] < 18


def test_critical_path_of_a_slow_throttled_event_is_its_erp_write(simulated_hops):
    con, _, _ = simulated_hops
    slow = next(h for h in sync_lag.slowest(con, 50, target=v.ERP).to_pylist() if h["got_429"])
    path = sync_lag.critical_path(con, slow["trace_id"]).to_pylist()
    critical = [r for r in path if r["critical"]]
    assert len(critical) == slow["attempts"] >= 2
    assert {(r["kind"], r["name"]) for r in critical} == {("CLIENT", critical[0]["name"])}
    assert [r["http_status"] for r in critical][:-1] == [429] * (len(critical) - 1)
    assert 200 <= critical[-1]["http_status"] < 300
    assert critical[0]["step_s"] > slow["lag_s"] / 2
    assert sum(r["contribution_s"] for r in path if r["on_path"]) == pytest.approx(slow["lag_s"], abs=1e-6)
