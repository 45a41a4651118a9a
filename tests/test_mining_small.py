"""Mining on a store small enough to compute by hand.

Invoices (the case notion under test), times in hours of 2 March (d1) and 3 March (d2) 2026:

  INV-1  F1  Receive 9:00 · Match 10:00 · Approve 10:00 · Post 12:00   (tie: source_order 2 < 3,
                                                                       against event ids ap:3 > ap:2)
  INV-2  F1  Receive d2 9:00 · Approve 11:00 · Match 11:00 · Post 13:00 (tie: same source_order,
                                                                       event id ap:6 < erp:6)
  INV-3  F2  Receive 9:00 (F2) · Match 9:30 (F1) · Approve 10:30 (F2) · Post 11:30 (F2)
  INV-4  F2  Receive d2 8:00

PO-1 is related to its own Create Purchase Order (d1 8:00) and to the Match events of INV-1 and
INV-2: one object whose events belong to two invoice cases.
"""

from datetime import datetime

import pyarrow as pa
import pytest

from models import audit, mining
from models.batches import Batch
from models.store import open_store
from models.vocabulary import (APPROVE_INVOICE as A, CREATE_PURCHASE_ORDER as C, INVOICE, MATCH_INVOICE as M,
                               POST_INVOICE as P, PURCHASE_ORDER, RECEIVE_INVOICE as R, SUPPLIER)

H = 3600.0
# event_id, activity, day, hour, minute, source_order, facility, related objects
EVENTS = [
    ("erp:1", C, 2, 8, 0, 1, "F1", ["PO-1"]),
    ("ap:1", R, 2, 9, 0, 1, "F1", ["INV-1"]),
    ("ap:3", M, 2, 10, 0, 2, "F1", ["INV-1", "PO-1"]),
    ("ap:2", A, 2, 10, 0, 3, "F1", ["INV-1"]),
    ("erp:10", P, 2, 12, 0, 10, "F1", ["INV-1"]),
    ("ap:4", R, 3, 9, 0, 4, "F1", ["INV-2"]),
    ("erp:6", M, 3, 11, 0, 6, "F1", ["INV-2", "PO-1"]),
    ("ap:6", A, 3, 11, 0, 6, "F1", ["INV-2"]),
    ("erp:11", P, 3, 13, 0, 11, "F1", ["INV-2"]),
    ("ap:7", R, 2, 9, 0, 7, "F2", ["INV-3"]),
    ("ap:8", M, 2, 9, 30, 8, "F1", ["INV-3"]),
    ("ap:9", A, 2, 10, 30, 9, "F2", ["INV-3"]),
    ("erp:12", P, 2, 11, 30, 12, "F2", ["INV-3"]),
    ("ap:10", R, 3, 8, 0, 10, "F2", ["INV-4"]),
]
OBJECTS = {"INV-1": INVOICE, "INV-2": INVOICE, "INV-3": INVOICE, "INV-4": INVOICE, "PO-1": PURCHASE_ORDER}


def _batch(events=EVENTS, objects=tuple(OBJECTS), relations=None) -> Batch:
    relations = relations if relations is not None else [(e[0], o) for e in EVENTS for o in e[7]]
    return Batch(
        event=pa.table({
            "event_id": [e[0] for e in events], "activity": [e[1] for e in events],
            "ts": pa.array([datetime(2026, 3, e[2], e[3], e[4]) for e in events], pa.timestamp("us")),
            "source_system": [e[0].split(":")[0] for e in events],
            "source_order": pa.array([e[5] for e in events], pa.int64()),
            "facility": [e[6] for e in events]}) if events else None,
        object=pa.table({"object_id": list(objects), "object_type": [OBJECTS[o] for o in objects]})
        if objects else None,
        event_object=pa.table({"event_id": [r[0] for r in relations], "object_id": [r[1] for r in relations],
                               "qualifier": ["related"] * len(relations)}) if relations else None,
    )


@pytest.fixture
def con():
    store = open_store(":memory:")
    store.ingest([_batch()], source="hand", kind="state_log")
    yield store.cursor()
    store.close()


def _edges(table) -> dict:
    return {(r["source"], r["target"]): (r["count"], r["median_s"], r["mean_s"], r["p90_s"])
            for r in table.to_pylist()}


def _variants(table) -> dict:
    return {tuple(r["variant"]): (r["cases"], r["share"], r["median_throughput_s"], r["mean_throughput_s"])
            for r in table.to_pylist()}


INVOICE_EDGES = {
    (R, M): (2, 0.75 * H, 0.75 * H, 0.5 * H + 0.9 * 0.5 * H),   # 1 h (INV-1), 0.5 h (INV-3)
    (M, A): (2, 0.5 * H, 0.5 * H, 0.9 * H),                     # 0 (INV-1), 1 h (INV-3)
    (A, P): (2, 1.5 * H, 1.5 * H, H + 0.9 * H),                 # 2 h, 1 h
    (R, A): (1, 2 * H, 2 * H, 2 * H),
    (A, M): (1, 0.0, 0.0, 0.0),
    (M, P): (1, 2 * H, 2 * H, 2 * H),
}
INVOICE_VARIANTS = {
    (R, M, A, P): (2, 0.5, 2.75 * H, 2.75 * H),   # 3 h and 2.5 h
    (R, A, M, P): (1, 0.25, 4 * H, 4 * H),
    (R,): (1, 0.25, 0.0, 0.0),
}


def test_dfg_orders_equal_timestamps_by_source_order_then_event_id(con):
    assert _edges(mining.dfg(con, INVOICE)) == INVOICE_EDGES
    assert mining.dfg(con, INVOICE, performance=False).to_pylist() == [
        {"source": s, "target": t, "count": c} for (s, t), (c, *_) in
        sorted(INVOICE_EDGES.items(), key=lambda kv: (-kv[1][0], kv[0]))]


def test_variants_with_share_and_throughput(con):
    table = mining.variants(con, INVOICE)
    assert _variants(table) == INVOICE_VARIANTS
    assert table.column("cases").to_pylist() == [2, 1, 1]


def test_start_and_end_activities(con):
    assert mining.start_activities(con, INVOICE) == {R: 4}
    assert mining.end_activities(con, INVOICE) == {P: 3, R: 1}


def test_an_object_related_to_two_cases_events_is_a_case_of_its_own_type(con):
    assert _edges(mining.dfg(con, PURCHASE_ORDER)) == {
        (C, M): (1, 2 * H, 2 * H, 2 * H),
        (M, M): (1, 25 * H, 25 * H, 25 * H),          # INV-1's match on d1 10:00, INV-2's on d2 11:00
    }
    assert _variants(mining.variants(con, PURCHASE_ORDER)) == {(C, M, M): (1, 1.0, 27 * H, 27 * H)}
    assert mining.object_types(con).to_pylist() == [
        {"object_type": INVOICE, "cases": 4, "events": 13, "variants": 3},
        {"object_type": PURCHASE_ORDER, "cases": 1, "events": 3, "variants": 1},
    ]


def test_object_centric_dfg_puts_every_types_edges_side_by_side(con):
    oc = mining.object_centric_dfg(con).to_pylist()
    by_type = {}
    for r in oc:
        by_type.setdefault(r.pop("object_type"), {})[(r["source"], r["target"])] = (
            r["count"], r["median_s"], r["mean_s"], r["p90_s"])
    assert by_type == {INVOICE: INVOICE_EDGES,
                       PURCHASE_ORDER: {(C, M): (1, 2 * H, 2 * H, 2 * H), (M, M): (1, 25 * H, 25 * H, 25 * H)}}
    assert mining.object_centric_endpoints(con).to_pylist() == [
        {"object_type": INVOICE, "activity": P, "starts": 0, "ends": 3},
        {"object_type": INVOICE, "activity": R, "starts": 4, "ends": 1},
        {"object_type": PURCHASE_ORDER, "activity": C, "starts": 1, "ends": 0},
        {"object_type": PURCHASE_ORDER, "activity": M, "starts": 0, "ends": 1},
    ]


def test_facility_scope_keeps_that_facilitys_events_and_resequences_cases_that_span_two(con):
    # F1: INV-1 and INV-2 whole, INV-3 only its Match (F1); INV-4 gone
    assert _edges(mining.dfg(con, INVOICE, ["F1"])) == {
        (R, M): (1, H, H, H), (M, A): (1, 0.0, 0.0, 0.0), (A, P): (1, 2 * H, 2 * H, 2 * H),
        (R, A): (1, 2 * H, 2 * H, 2 * H), (A, M): (1, 0.0, 0.0, 0.0), (M, P): (1, 2 * H, 2 * H, 2 * H)}
    assert _variants(mining.variants(con, INVOICE, ["F1"])) == {
        (R, M, A, P): (1, 1 / 3, 3 * H, 3 * H), (R, A, M, P): (1, 1 / 3, 4 * H, 4 * H), (M,): (1, 1 / 3, 0.0, 0.0)}
    assert mining.start_activities(con, INVOICE, ["F1"]) == {R: 2, M: 1}
    assert mining.end_activities(con, INVOICE, ["F1"]) == {P: 2, M: 1}

    # F2: INV-3 without its Match (Receive 9:00 -> Approve 10:30 -> Post 11:30), INV-4
    assert _edges(mining.dfg(con, INVOICE, ["F2"])) == {(R, A): (1, 1.5 * H, 1.5 * H, 1.5 * H),
                                                        (A, P): (1, H, H, H)}
    assert _variants(mining.variants(con, INVOICE, ["F2"])) == {(R, A, P): (1, 0.5, 2.5 * H, 2.5 * H),
                                                                (R,): (1, 0.5, 0.0, 0.0)}
    assert mining.start_activities(con, INVOICE, ["F2"]) == {R: 2}
    assert mining.end_activities(con, INVOICE, ["F2"]) == {P: 1, R: 1}
    assert mining.object_types(con, ["F2"]).to_pylist() == [
        {"object_type": INVOICE, "cases": 2, "events": 4, "variants": 2}]
    assert mining.dfg(con, PURCHASE_ORDER, ["F2"]).num_rows == 0

    # both facilities: the same as no scope
    assert _edges(mining.dfg(con, INVOICE, ["F1", "F2"])) == INVOICE_EDGES
    assert _variants(mining.variants(con, INVOICE, ["F1", "F2"])) == INVOICE_VARIANTS


def test_case_event_rows_of_a_case(con):
    rows = con.sql("SELECT position, event_id, activity, next_activity, next_ts, case_facility "
                   "FROM case_event WHERE case_id = 'INV-2' ORDER BY position").fetchall()
    assert rows == [
        (1, "ap:4", R, A, datetime(2026, 3, 3, 11), "F1"),
        (2, "ap:6", A, M, datetime(2026, 3, 3, 11), "F1"),
        (3, "erp:6", M, P, datetime(2026, 3, 3, 13), "F1"),
        (4, "erp:11", P, None, None, "F1"),
    ]


def test_loads_that_bring_a_relation_then_its_event_then_an_object_keep_cases_current():
    store = open_store(":memory:")
    con = store.cursor()
    late = ("erp:11", "INV-2")
    first_relations = [(e[0], o) for e in EVENTS for o in e[7] if (e[0], o) != late]
    store.ingest([_batch([e for e in EVENTS if e[0] != "erp:11"], [o for o in OBJECTS if o != "INV-4"],
                         first_relations)], source="1", kind="state_log")
    assert _variants(mining.variants(con, INVOICE)) == {     # INV-4 not typed yet; INV-2 without Post
        (R, M, A, P): (2, 2 / 3, 2.75 * H, 2.75 * H), (R, A, M): (1, 1 / 3, 2 * H, 2 * H)}

    store.ingest([_batch([], ["INV-4"], [late])], source="2", kind="state_log")   # relation before event
    assert _variants(mining.variants(con, INVOICE)) == {
        (R, M, A, P): (2, 0.5, 2.75 * H, 2.75 * H), (R, A, M): (1, 0.25, 2 * H, 2 * H), (R,): (1, 0.25, 0.0, 0.0)}

    store.ingest([_batch([e for e in EVENTS if e[0] == "erp:11"], [], [])], source="3", kind="state_log")
    assert _variants(mining.variants(con, INVOICE)) == INVOICE_VARIANTS
    assert _edges(mining.dfg(con, INVOICE)) == INVOICE_EDGES

    trail = audit.case_trail(con, "INV-2").to_pylist()      # the late relation found by its event
    assert [r["event_id"] for r in trail] == ["erp:1", "ap:3", "ap:4", "ap:6", "erp:6", "erp:11"]
    assert trail[-1]["objects"] == ["INV-2"] and trail[-2]["objects"] == ["INV-2", "PO-1"]

    store.ingest([_batch()], source="again", kind="state_log")   # nothing new: nothing changes
    assert con.sql("SELECT count(*) FROM case_event").fetchall() == [(16,)]
    assert con.sql("SELECT count(*) FROM case_variant").fetchall() == [(5,)]
    store.close()


def test_a_failed_load_leaves_no_derived_rows():
    store = open_store(":memory:")
    with pytest.raises(RuntimeError):
        with store.load("broken", "state_log") as load:
            load.write(_batch())
            raise RuntimeError("the source broke off")
    assert store.cursor().sql("SELECT (SELECT count(*) FROM case_event), (SELECT count(*) FROM case_variant)"
                              ).fetchall() == [(0, 0)]
    store.close()


def test_rebuild_derives_every_case_afresh(con):
    before = con.sql("SELECT * FROM case_event ORDER BY case_id, position").fetchall()
    con.execute("DELETE FROM case_event; DELETE FROM case_variant")
    mining.rebuild(con)

    assert con.sql("SELECT * FROM case_event ORDER BY case_id, position").fetchall() == before
    assert _variants(mining.variants(con, INVOICE)) == INVOICE_VARIANTS


def test_filters_select_cases_by_the_day_of_their_first_event_and_scope_facilities(con):
    from datetime import date

    from models.filters import Filters

    first_day = Filters(start=date(2026, 3, 2), end=date(2026, 3, 2))   # INV-1, INV-3 (and PO-1)
    assert _variants(mining.variants(con, INVOICE, filters=first_day)) == {(R, M, A, P): (2, 1.0, 2.75 * H, 2.75 * H)}
    assert mining.start_activities(con, PURCHASE_ORDER, filters=first_day) == {C: 1}
    second_day = Filters(start=date(2026, 3, 3), facilities=("F1",))     # INV-2; INV-4 is F2
    assert _variants(mining.variants(con, INVOICE, filters=second_day)) == {(R, A, M, P): (1, 1.0, 4 * H, 4 * H)}
    assert _edges(mining.dfg(con, INVOICE, filters=Filters(end=date(2026, 3, 2), facilities=("F2",)))) == {
        (R, A): (1, 1.5 * H, 1.5 * H, 1.5 * H), (A, P): (1, H, H, H)}
    assert mining.object_types(con, filters=second_day).to_pylist() == [
        {"object_type": INVOICE, "cases": 1, "events": 4, "variants": 1}]
    # `facilities` replaces the filters' facilities
    assert mining.end_activities(con, INVOICE, ["F2"], filters=second_day) == {R: 1}


def test_events_naming_no_facility_stay_with_their_case_and_master_data_is_no_case():
    # INV-9: received in the supplier portal (no facility), matched and approved in F1; both the
    # invoice's events name the supplier, whose "case" would be every order's history.
    events = [("portal:1", R, 2, 9, 0, 1, None, ["INV-9", "SUP-1"]),
              ("ap:91", M, 2, 10, 0, 2, "F1", ["INV-9", "SUP-1"]),
              ("ap:92", A, 2, 11, 0, 3, "F1", ["INV-9"])]
    store = open_store(":memory:")
    con = store.cursor()
    store.ingest([Batch(
        event=pa.table({"event_id": [e[0] for e in events], "activity": [e[1] for e in events],
                        "ts": pa.array([datetime(2026, 3, e[2], e[3], e[4]) for e in events], pa.timestamp("us")),
                        "source_system": [e[0].split(":")[0] for e in events],
                        "source_order": pa.array([e[5] for e in events], pa.int64()),
                        "facility": pa.array([e[6] for e in events], pa.string())}),
        object=pa.table({"object_id": ["INV-9", "SUP-1"], "object_type": [INVOICE, SUPPLIER]}),
        event_object=pa.table({"event_id": [e[0] for e in events for _ in e[7]],
                               "object_id": [o for e in events for o in e[7]]}))],
        source="portal", kind="state_log")
    assert _variants(mining.variants(con, INVOICE, ["F1"])) == {(R, M, A): (1, 1.0, 2 * H, 2 * H)}
    assert mining.variants(con, INVOICE, ["F2"]).num_rows == 0
    assert [t["object_type"] for t in mining.object_types(con).to_pylist()] == [INVOICE]
    store.close()
