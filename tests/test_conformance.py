"""Conformance: our replay of distinct variants equals pm4py's token replay on real logs, and
the shipped reference models accept the legitimate healthcare flows and catch the planted ones."""

import functools
from pathlib import Path

import pyarrow as pa
import pytest

from mining_fixtures import batch_from_frame, read_log
from models import conformance, discovery, mining
from models.store import open_store
from models.vocabulary import (APPROVE_INVOICE, CASE, CREATE_REQUISITION, INVOICE, PURCHASE_ORDER,
                               RECEIVE_INVOICE, RECORD_GOODS_RECEIPT)

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"
LOGS = {"running-example": "running-example.xes", "receipt": "receipt.csv",
        "bpic2020": "15_bpic2020_permit_log_1t_per_variant.xes.gz"}


@functools.cache
def _log(name):
    path = REAL_DATA / LOGS[name]
    if not path.is_file():
        pytest.skip(f"real log {LOGS[name]} not found in the shared real-data folder beside the repository")
    df = read_log(path)
    store = open_store(":memory:")
    store.ingest([batch_from_frame(df)], source=LOGS[name], kind="state_log")
    return df, store.cursor()


def _pm4py():
    import pm4py

    return pm4py


def _net(con, noise, keep=None):
    """IMf on the log's variants (or on only the `keep` most frequent: a model the rest
    does not fit)."""
    variants = mining.variants(con, CASE)
    return discovery.discover_from_variants(variants.slice(0, keep) if keep else variants, noise)


CASES = [("running-example", 0.0, 2), ("running-example", 0.2, None), ("receipt", 0.2, None),
         ("receipt", 0.0, 5), ("bpic2020", 0.5, None)]


@pytest.mark.parametrize("name,noise,keep", CASES)
def test_every_trace_replays_with_pm4pys_token_counts_and_fitness(name, noise, keep):
    from pm4py.utils import pandas_utils

    df, con = _log(name)
    model = _net(con, noise, keep)
    ours = conformance.check(con, CASE, model=model)
    by_variant = {tuple(r["variant"]): r for r in ours["by_variant"].to_pylist()}
    expected = _pm4py().conformance_diagnostics_token_based_replay(
        df, model.net, model.initial_marking, model.final_marking)
    traces = pandas_utils.get_traces(df, "case:concept:name", "concept:name")
    keys = ("missing", "consumed", "remaining", "produced", "fitness", "fits")

    assert [tuple(by_variant[tuple(t)][k] for k in keys) for t in traces] == [
        (d["missing_tokens"], d["consumed_tokens"], d["remaining_tokens"], d["produced_tokens"],
         d["trace_fitness"], d["trace_is_fit"]) for d in expected]
    if keep:                          # a model of the frequent variants: the others deviate
        assert ours["fitting_cases_share"] < 1


@pytest.mark.parametrize("name,noise,keep", CASES)
def test_log_fitness_equals_pm4py(name, noise, keep):
    df, con = _log(name)
    model = _net(con, noise, keep)
    ours = conformance.check(con, CASE, model=model)
    expected = _pm4py().fitness_token_based_replay(df, model.net, model.initial_marking, model.final_marking)

    assert ours["log_fitness"] == pytest.approx(expected["log_fitness"], abs=1e-12)
    assert ours["average_case_fitness"] == pytest.approx(expected["average_trace_fitness"], abs=1e-12)
    assert 100 * ours["fitting_cases_share"] == pytest.approx(expected["perc_fit_traces"], abs=1e-9)
    assert ours["cases"] == df["case:concept:name"].nunique()


# -- the shipped reference models on a simulated network ---------------------------------------

@pytest.fixture(scope="module")
def po_conformance(network):
    store, manifest = network
    con = store.cursor()
    return con, manifest["truths"], conformance.check(con, PURCHASE_ORDER)


def _cases_with(con, result, deviation) -> set[str]:
    showing = [r["variant"] for r in result["by_variant"].to_pylist() if deviation in r["deviations"]]
    if not showing:
        return set()
    rows = con.sql("SELECT case_id FROM case_variant WHERE object_type = $t AND list_contains($v, variant)",
                   params={"t": PURCHASE_ORDER, "v": showing}).fetchall()
    return {r[0] for r in rows}


def test_planted_after_the_fact_orders_are_exactly_the_invoices_received_in_the_wrong_order(po_conformance):
    con, truths, result = po_conformance
    planted = set(truths["after_the_fact_orders"]["purchase_orders"]["ids"])

    found = _cases_with(con, result, {"kind": conformance.WRONG_ORDER, "activity": RECEIVE_INVOICE})
    assert found == planted and planted
    assert {"kind": conformance.WRONG_ORDER, "activity": RECEIVE_INVOICE, "cases": len(planted),
            "share": len(planted) / result["cases"]} in result["deviations"].to_pylist()


def test_legitimate_healthcare_flows_fit_the_reference_model(po_conformance):
    _, _, result = po_conformance
    rows = result["by_variant"].to_pylist()          # most cases first

    def main(shape):
        return next(r for r in rows if shape(r["variant"]))

    flows = {
        "stock": main(lambda v: v[0] == CREATE_REQUISITION and RECORD_GOODS_RECEIPT in v),
        "service": main(lambda v: RECORD_GOODS_RECEIPT not in v and "Clear Payment" in v),
        "bill-only": main(lambda v: v[:2] == [RECORD_GOODS_RECEIPT, CREATE_REQUISITION]),
        "exception": main(lambda v: "Release Invoice Block" in v),
        "cancelled": main(lambda v: "Cancel Purchase Order" in v),
    }
    assert {name: (r["fitness"], r["fits"], r["deviations"]) for name, r in flows.items()} == {
        name: (1.0, True, []) for name in flows}
    assert 0.9 < result["fitting_cases_share"] < 1
    assert 0.95 < result["log_fitness"] < 1


def test_stat_orders_main_variants_fit(po_conformance):
    con, _, result = po_conformance
    stat = con.sql("""SELECT cv.variant, count(*) AS n FROM case_variant cv
                      WHERE cv.object_type = $t AND cv.case_id IN (
                          SELECT ce.case_id FROM case_event ce JOIN event e USING (event_id)
                          WHERE ce.object_type = $t AND e.attributes->>'urgency' = 'STAT')
                      GROUP BY ALL ORDER BY n DESC, cv.variant LIMIT 2""",
                   params={"t": PURCHASE_ORDER}).fetchall()
    fitness = {tuple(r["variant"]): r["fitness"] for r in result["by_variant"].to_pylist()}

    assert [fitness[tuple(v)] for v, _ in stat] == [1.0, 1.0]


def test_invoice_reference_model_flags_payment_scheduled_before_approval(network):
    store, _ = network
    con = store.cursor()
    result = conformance.check(con, INVOICE)
    deviating = [r for r in result["by_variant"].to_pylist() if r["deviations"]]

    assert all(r["fitness"] < 1 for r in deviating)
    for r in deviating:
        v = r["variant"]
        if "Schedule Payment" in v and v.index("Schedule Payment") < v.index(APPROVE_INVOICE):
            assert {"kind": conformance.WRONG_ORDER, "activity": "Schedule Payment"} in r["deviations"]
    assert result["by_variant"].to_pylist()[0]["fitness"] == 1.0


def test_case_fitness_is_its_variants(po_conformance):
    con, truths, result = po_conformance
    case_id = truths["after_the_fact_orders"]["purchase_orders"]["ids"][0]
    one = conformance.case_fitness(con, PURCHASE_ORDER, case_id)
    row = next(r for r in result["by_variant"].to_pylist() if r["variant"] == one["variant"])

    assert (one["fitness"], one["deviations"]) == (row["fitness"], row["deviations"])
    assert one["fitness"] < 1


def test_a_case_notion_without_reference_model_names_the_shipped_ones(network):
    store, _ = network
    with pytest.raises(conformance.ModelNotFound, match="invoice, purchase_order"):
        conformance.check(store.cursor(), "po_line")


def test_skipped_and_inserted_steps_on_a_hand_built_log():
    store = open_store(":memory:")
    import pandas as pd

    rows = []
    for case, acts in {"ok": "abcd", "skip": "acd", "insert": "abxcd", "swap": "acbd", "repeat": "abbcd"}.items():
        rows += [{"case:concept:name": case, "concept:name": a,
                  "time:timestamp": pd.Timestamp("2025-01-01") + pd.Timedelta(minutes=i)} for i, a in enumerate(acts)]
    store.ingest([batch_from_frame(pd.DataFrame(rows))], source="hand", kind="state_log")
    con = store.cursor()
    model = discovery.discover_from_variants(pa.table({"variant": [list("abcd")], "cases": [1]}))
    got = {"".join(r["variant"]): [(d["kind"], d["activity"]) for d in r["deviations"]]
           for r in conformance.check(con, CASE, model=model)["by_variant"].to_pylist()}

    assert got == {"abcd": [], "acd": [(conformance.SKIPPED, "b")], "abxcd": [(conformance.INSERTED, "x")],
                   "acbd": [(conformance.WRONG_ORDER, "c")], "abbcd": [(conformance.INSERTED, "b")]}
