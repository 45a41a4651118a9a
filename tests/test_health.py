"""Data health: the spans' p2p.* keys kept at load are what copying every span afresh gives,
and the traffic per service counts what the spans themselves say."""

import json

from conftest import rebuilt
from models import health
from models.filters import Filters


def test_span_keys_kept_load_by_load_equal_a_rebuild(network):
    store, _ = network
    con = store.cursor()
    kept = health.span_keys(con).to_pylist()
    assert len(kept) == health.counts(con)["spans"]
    assert rebuilt(con, lambda c: health.span_keys(c).to_pylist(), health.refresh, "span_p2p") == kept


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
