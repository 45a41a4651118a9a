"""Mining over the store equals pm4py's on real logs nobody here wrote.

Each log is read by pm4py, stored as cases (objects of type "case") and mined by our SQL; the
results must equal pm4py's own on the very same frame, as whole dicts.
"""

import functools
from pathlib import Path

import pyarrow as pa
import pytest

from mining_fixtures import batch_from_frame, read_log
from models import discovery, mining
from models.store import open_store
from models.vocabulary import CASE

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"

# id -> (file, timestamp column of a CSV without pm4py's column names)
LOGS = {
    "running-example": ("running-example.xes", None),
    "receipt-csv": ("receipt.csv", None),
    "receipt-xes": ("08_receipt.xes.gz", None),
    "bpic2020": ("15_bpic2020_permit_log_1t_per_variant.xes.gz", None),
    "zampino-end": ("zampino_procure-to-pay_asis.csv.gz", "End_Time"),
    "zampino-start": ("zampino_procure-to-pay_asis.csv.gz", "Start_Time"),
    "bpic2019": ("16_bpic2019_1t_per_variant.xes.gz", None),
}
SMALL = [name for name in LOGS if name != "bpic2019"]
ALL = SMALL[:] + [pytest.param("bpic2019", marks=pytest.mark.large_log)]


@functools.cache
def _frame(name):
    file, timestamp_column = LOGS[name]
    path = REAL_DATA / file
    if not path.is_file():
        pytest.skip(f"real log {file} not found in the shared real-data folder beside the repository")
    return read_log(path, timestamp_column)


@functools.cache
def _mined(name):
    """The log in a store of its own (module lifetime): a cursor on it."""
    store = open_store(":memory:")
    store.ingest([batch_from_frame(_frame(name))], source=LOGS[name][0], kind="state_log")
    return store.cursor()


def _pm4py():
    import pm4py

    return pm4py


def _counts(dfg: pa.Table) -> dict:
    return {(r["source"], r["target"]): r["count"] for r in dfg.to_pylist()}


def _variants(table: pa.Table) -> dict:
    return {tuple(r["variant"]): r["cases"] for r in table.to_pylist()}


@pytest.mark.parametrize("name", ALL)
def test_dfg_and_start_end_activities_equal_pm4py(name):
    df, con = _frame(name), _mined(name)
    expected_dfg, expected_start, expected_end = _pm4py().discover_dfg(df)

    assert _counts(mining.dfg(con, CASE, performance=False)) == dict(expected_dfg)
    assert _counts(mining.dfg(con, CASE)) == dict(expected_dfg)
    assert mining.start_activities(con, CASE) == dict(expected_start)
    assert mining.end_activities(con, CASE) == dict(expected_end)
    assert mining.start_end_activities(con, CASE) == (dict(expected_start), dict(expected_end))


@pytest.mark.parametrize("name", ALL)
def test_variants_equal_pm4py(name):
    df, con = _frame(name), _mined(name)
    expected = _pm4py().get_variants(df)
    ours = mining.variants(con, CASE)

    assert _variants(ours) == dict(expected)
    assert ours.column("cases").to_pylist() == sorted(expected.values(), reverse=True)
    assert sum(ours.column("share").to_pylist()) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["running-example", "bpic2020"])
def test_throughput_of_one_case_variants_equals_pm4py_case_durations(name):
    # one trace per variant in these logs: each variant's throughput is its case's duration
    df, con = _frame(name), _mined(name)
    ours = mining.variants(con, CASE)

    assert set(ours.column("cases").to_pylist()) == {1}
    assert sorted(ours.column("median_throughput_s").to_pylist()) == pytest.approx(
        sorted(_pm4py().get_all_case_durations(df)), abs=1e-6)
    assert ours.column("mean_throughput_s").to_pylist() == ours.column("median_throughput_s").to_pylist()


@pytest.mark.parametrize("name", ["running-example", "receipt-xes"])
def test_performance_dfg_equals_pm4py(name):
    df, con = _frame(name), _mined(name)
    expected, _, _ = _pm4py().discover_performance_dfg(df, perf_aggregation_key="all")
    ours = mining.dfg(con, CASE).to_pylist()

    assert {(r["source"], r["target"]): (round(r["median_s"], 6), round(r["mean_s"], 6)) for r in ours} == {
        edge: (round(float(v["median"]), 6), round(float(v["mean"]), 6)) for edge, v in expected.items()}


def test_performance_dfg_p90_on_running_example_is_numpy_percentile():
    import numpy as np

    df, con = _frame("running-example"), _mined("running-example")
    ordered = df.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    gaps: dict = {}
    for _, case in ordered.groupby("case:concept:name", sort=False):
        acts, ts = case["concept:name"].tolist(), case["time:timestamp"].tolist()
        for i in range(len(acts) - 1):
            gaps.setdefault((acts[i], acts[i + 1]), []).append((ts[i + 1] - ts[i]).total_seconds())

    ours = {(r["source"], r["target"]): round(r["p90_s"], 6) for r in mining.dfg(con, CASE).to_pylist()}
    assert ours == {edge: round(float(np.percentile(g, 90)), 6) for edge, g in gaps.items()}


@pytest.mark.parametrize("name", ["bpic2020"])
def test_loading_a_log_in_pieces_that_cut_its_cases_gives_the_same_mining(name):
    df = _frame(name)
    store = open_store(":memory:")
    thirds = [0, len(df) // 3, 2 * len(df) // 3, len(df)]
    full = batch_from_frame(df)
    for lo, hi in zip(thirds, thirds[1:]):   # the event_object rows of a case arrive in several loads
        store.ingest([type(full)(event=full.event.slice(lo, hi - lo), object=full.object,
                                 event_object=full.event_object.slice(lo, hi - lo))],
                     source=f"rows {lo}-{hi}", kind="state_log")
    store.ingest([full], source="again", kind="state_log")   # a repeat changes nothing
    con = store.cursor()
    expected_dfg, _, _ = _pm4py().discover_dfg(df)

    assert _counts(mining.dfg(con, CASE)) == dict(expected_dfg)
    assert _variants(mining.variants(con, CASE)) == dict(_pm4py().get_variants(df))
    assert con.sql("SELECT count(*) FROM case_event").fetchall() == [(len(df),)]
    store.close()


@pytest.mark.parametrize("name", ["running-example", "receipt-csv", "bpic2020", "zampino-end"])
def test_imd_on_our_dfg_equals_pm4py_imd_on_its_dfg(name):
    pm4py = _pm4py()
    from pm4py.objects.dfg.obj import DFG

    df, con = _frame(name), _mined(name)
    ours = discovery.discover_from_dfg(mining.dfg(con, CASE), mining.start_activities(con, CASE),
                                       mining.end_activities(con, CASE))
    tree = pm4py.discover_process_tree_inductive(DFG(*pm4py.discover_dfg(df)))
    net, _, _ = pm4py.convert_to_petri_net(tree)

    assert str(ours.tree) == str(tree)
    assert ours.size() == {"places": len(net.places), "transitions": len(net.transitions),
                           "visible_transitions": len({t for t in net.transitions if t.label}),
                           "arcs": len(net.arcs)}


@pytest.mark.parametrize("name, noise", [(name, noise) for noise in (0.0, 0.2)
                                         for name in ("running-example", "receipt-csv", "bpic2020", "zampino-end")
                                         if (name, noise) != ("bpic2020", 0.0)])   # pm4py's IM takes 40 s there
def test_inductive_miner_on_our_variants_equals_pm4py_on_the_log(name, noise):
    df, con = _frame(name), _mined(name)
    ours = discovery.discover_from_variants(mining.variants(con, CASE), noise_threshold=noise)

    assert str(ours.tree) == str(_pm4py().discover_process_tree_inductive(df, noise_threshold=noise))


def test_models_are_drawn_as_dot_source_without_graphviz_installed(tmp_path, monkeypatch):
    con = _mined("running-example")
    model = discovery.discover_from_variants(mining.variants(con, CASE))
    monkeypatch.setenv("PATH", str(tmp_path))   # no `dot` binary to call

    activities = sorted(set(_frame("running-example")["concept:name"]))
    for dot in (discovery.petri_net_dot(model), discovery.bpmn_dot(model), discovery.process_tree_dot(model)):
        assert dot.startswith(("digraph ", "graph "))
        assert [a for a in activities if f'"{a}"' not in dot and f"={a} " not in dot] == []
    assert model.size() == {"places": 9, "transitions": 10, "visible_transitions": 8, "arcs": 22}
