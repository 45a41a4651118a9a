"""Data health: the spans' p2p.* keys and the cases' span coverage kept at load are what
deriving them afresh gives, and the traffic per service counts what the spans themselves say."""

import json
import statistics

import pytest

from conftest import rebuilt
from models import health
from models.filters import Filters


def rows(con, table: str) -> list:
    """A derived table's rows in a stable order, to compare a kept table with a rebuild."""
    return con.sql(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_span_keys_kept_load_by_load_equal_a_rebuild(network):
    store, _ = network
    con = store.cursor()
    kept = rows(con, "span_p2p")
    assert len(kept) == health.counts(con)["spans"]
    assert rebuilt(con, lambda c: rows(c, "span_p2p"), health.refresh, "span_p2p") == kept


def test_traffic_per_service_day_kept_load_by_load_equals_a_recount(network):
    store, _ = network
    con = store.cursor()
    kept = rows(con, "service_day")
    assert sum(r[3] for r in kept) == health.counts(con)["spans"]
    assert rebuilt(con, lambda c: rows(c, "service_day"), health.count_traffic) == kept


def test_spans_by_service_in_a_period_counts_its_spans_and_errors(network):
    store, _ = network
    con = store.cursor()
    first, last = con.sql("SELECT min(start_time)::DATE, max(start_time)::DATE FROM span").fetchall()[0]
    middle = first + (last - first) / 2
    expected = dict(con.sql(
        "SELECT coalesce(service, '(unknown)'), count(*) FILTER (WHERE status_code = 'ERROR') FROM span "
        "WHERE start_time::DATE BETWEEN $a AND $b GROUP BY ALL", params={"a": first, "b": middle}).fetchall())
    assert any(expected.values())      # the simulated middleware fails now and then
    found = health.spans_by_service(con, Filters(start=first, end=middle)).to_pylist()
    assert {r["service"]: r["errors"] for r in found} == expected
    assert sum(r["spans"] for r in found) < health.counts(con)["spans"]


def test_spans_by_service_for_one_facility_counts_its_spans(network):
    store, _ = network
    con = store.cursor()
    rows = con.sql("SELECT service, attributes FROM span").fetchall()
    facility = next(f for _, a in rows if (f := json.loads(a).get("p2p.facility.id")))
    expected = {}
    for service, attributes in rows:
        if json.loads(attributes).get("p2p.facility.id") == facility:
            expected[service or "(unknown)"] = expected.get(service or "(unknown)", 0) + 1
    found = health.spans_by_service(con, Filters(facilities=(facility,))).to_pylist()
    assert {r["service"]: r["spans"] for r in found} == expected
    assert sum(r["spans"] for r in health.spans_by_service(con).to_pylist()) == len(rows)


def test_span_coverage_kept_load_by_load_equals_a_rebuild(network):
    store, _ = network
    con = store.cursor()
    kept = rows(con, "case_coverage")
    assert len(kept) == con.sql("SELECT count(DISTINCT case_id) FROM case_event").fetchall()[0][0]
    carried = con.sql("SELECT DISTINCT carried FROM case_coverage").fetchall()
    assert sorted(carried) == [(False,), (True,)]       # some cases carried by spans, some not
    assert rebuilt(con, lambda c: rows(c, "case_coverage"), health.refresh, "span_p2p", "case_coverage") == kept


def test_span_coverage_counts_kept_load_by_load_equal_a_recount_and_a_rebuild(network):
    store, _ = network
    con = store.cursor()
    kept = rows(con, "case_coverage_count")
    recount = con.sql("SELECT object_type, facilities, carried, carried_facilities, count(*) FROM case_coverage "
                      "GROUP BY ALL ORDER BY ALL").fetchall()
    assert kept == recount and all(r[4] > 0 for r in kept)
    assert rebuilt(con, lambda c: rows(c, "case_coverage_count"), health.refresh, "span_p2p", "case_coverage") == kept
    assert rebuilt(con, lambda c: rows(c, "case_coverage_count"), health.count_coverage) == kept


def test_span_coverage_counts_every_case_of_each_notion(network):
    store, _ = network
    con = store.cursor()
    expected = con.sql("SELECT object_type, count(DISTINCT case_id), count(DISTINCT case_id) FILTER "
                       "(WHERE event_id IN (SELECT event_id FROM sync_hop)) FROM case_event GROUP BY ALL").fetchall()
    found = health.span_coverage(con).to_pylist()
    assert {r["object_type"]: (r["cases"], r["cases_with_spans"]) for r in found} == {t: (n, c) for t, n, c in expected}
    assert all(r["coverage"] == r["cases_with_spans"] / r["cases"] for r in found)


def test_span_coverage_for_one_facility_judges_its_events_only(network):
    store, _ = network
    con = store.cursor()
    facility = con.sql("SELECT min(facility) FROM case_event").fetchall()[0][0]
    carried = {r[0] for r in con.sql("SELECT DISTINCT event_id FROM sync_hop").fetchall()}
    cases: dict = {}
    for object_type, case_id, event_id in con.sql(
            "SELECT object_type, case_id, event_id FROM case_event WHERE facility = $f", params={"f": facility}).fetchall():
        cases.setdefault(object_type, {}).setdefault(case_id, False)
        cases[object_type][case_id] |= event_id in carried
    found = health.span_coverage(con, Filters(facilities=(facility,))).to_pylist()
    assert {r["object_type"]: (r["cases"], r["cases_with_spans"]) for r in found} == {
        t: (len(c), sum(c.values())) for t, c in cases.items()}


def test_clock_skew_per_source_system_for_one_facility(network):
    store, _ = network
    con = store.cursor()
    facility = con.sql("SELECT min(facility) FROM sync_hop").fetchall()[0][0]
    offsets: dict = {}
    for system, published, event in con.sql("SELECT source_system, published_at, event_time FROM sync_hop "
                                             "WHERE facility = $f", params={"f": facility}).fetchall():
        offsets.setdefault(system, []).append((published - event).total_seconds())
    found = health.clock_skew(con, Filters(facilities=(facility,))).to_pylist()
    assert {r["source_system"]: r["events"] for r in found} == {s: len(o) for s, o in offsets.items()}
    for r in found:
        mine = sorted(offsets[r["source_system"]])
        assert r["median_offset_s"] == pytest.approx(statistics.median(mine), abs=1e-9)
        assert r["min_offset_s"] == mine[0]
        assert r["ahead_of_middleware"] == sum(o < -1 for o in mine)


def test_clock_skew_in_a_period_counts_the_events_of_its_days(network):
    store, _ = network
    con = store.cursor()
    first, last = con.sql("SELECT min(event_time)::DATE, max(event_time)::DATE FROM sync_hop").fetchall()[0]
    middle = first + (last - first) / 2
    expected = dict(con.sql("SELECT source_system, count(*) FROM sync_hop WHERE event_time::DATE BETWEEN $a AND $b "
                            "GROUP BY ALL", params={"a": first, "b": middle}).fetchall())
    found = health.clock_skew(con, Filters(start=first, end=middle)).to_pylist()
    assert {r["source_system"]: r["events"] for r in found} == expected
    assert sum(expected.values()) < sum(r["events"] for r in health.clock_skew(con).to_pylist())
