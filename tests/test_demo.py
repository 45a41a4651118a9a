"""The demo path a newcomer takes: simulate -> ingest -> stats, through the real command line."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def p2pobs(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    return done


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    done = p2pobs("simulate", "--out", "sim", "--orders", "300", "--seed", "11", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd


def test_ingesting_the_simulators_output_twice_changes_no_count(demo_dir):
    first = p2pobs("ingest", "sim", "--db", "p2p.duckdb", "--json", cwd=demo_dir)
    assert first.returncode == 0, first.stderr
    loaded = json.loads(first.stdout)
    stats = json.loads(p2pobs("stats", "--db", "p2p.duckdb", "--json", cwd=demo_dir).stdout)

    again = json.loads(p2pobs("ingest", "sim", "--db", "p2p.duckdb", "--json", cwd=demo_dir).stdout)
    stats_again = json.loads(p2pobs("stats", "--db", "p2p.duckdb", "--json", cwd=demo_dir).stdout)

    manifest = json.loads((demo_dir / "sim" / "manifest.json").read_text())
    assert loaded["rejected"] == 0 and loaded["errors"] == []
    assert stats["spans"] == manifest["counts"]["spans"]
    assert stats["events"] > 0 and stats["objects"] > 0 and stats["dead_letters"] == 0
    assert loaded["accepted"] == stats["events"] + stats["spans"]
    assert again["accepted"] == 0
    assert again["duplicates"] == loaded["accepted"] + loaded["duplicates"]
    assert {k: v for k, v in stats_again.items() if k != "batches"} == \
           {k: v for k, v in stats.items() if k != "batches"}
    # every state log and the span file of the simulator became one load each
    kinds = sorted({f["kind"] for f in loaded["files"]})
    assert kinds == ["state_log", "trace_file"]
    assert {f["path"].split("/")[1] for f in loaded["files"]} == {"ap", "erp", "procurement", "spans",
                                                                  "supplier_portal"}


def test_a_store_of_another_version_is_refused_by_the_cli_with_exit_status_3(tmp_path):
    import duckdb

    from models.store import open_store

    open_store(tmp_path / "old.duckdb").close()
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("UPDATE schema_info SET version = 0")
    con.close()
    done = p2pobs("stats", "--db", "old.duckdb", "--json", cwd=tmp_path)
    assert done.returncode == 3
    assert "schema version 0" in json.loads(done.stdout)["error"]


def test_a_memory_limit_from_the_environment_that_is_no_size_is_refused_with_exit_status_3(tmp_path):
    done = subprocess.run([sys.executable, "-m", "app.cli", "stats", "--db", "p2p.duckdb", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "P2POBS_MEMORY_LIMIT": "lots"})
    assert done.returncode == 3
    assert "memory limit 'lots'" in json.loads(done.stdout)["error"]


def test_an_unreadable_file_is_named_and_the_rest_still_lands(tmp_path):
    (tmp_path / "scan.bin").write_bytes(b"%PDF-1.7 not a log")
    (tmp_path / "truncated.json").write_text('{"resourceSpans": [ {"scopeSpans": ')
    (tmp_path / "ok.json").write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "POST /ap",
        "startTimeUnixNano": "1714809600000000000", "endTimeUnixNano": "1714809600250000000"}]}]}]}))

    done = p2pobs("ingest", "scan.bin", "truncated.json", "ok.json", "--db", "p2p.duckdb", "--json",
                  cwd=tmp_path)
    summary = json.loads(done.stdout)

    assert done.returncode == 1
    assert [e["path"] for e in summary["errors"]] == ["scan.bin"]
    assert "no reader for .bin" in summary["errors"][0]["error"]
    assert (summary["accepted"], summary["rejected"]) == (1, 1)   # the truncated file is a dead letter
    letters = p2pobs("stats", "--db", "p2p.duckdb", "--json", cwd=tmp_path)
    assert json.loads(letters.stdout)["dead_letters"] == 1


def _rounded(rows: list[dict]) -> list[dict]:
    """Floats to 9 significant digits: the same means computed twice by DuckDB's parallel
    aggregation may differ in the last bit."""
    return [{k: float(f"{v:.9g}") if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def test_mine_dfg_and_variants_print_what_the_models_compute(demo_dir):
    from models import mining
    from models.store import open_store

    p2pobs("ingest", "sim", "--db", "mined.duckdb", cwd=demo_dir)
    dfg = json.loads(p2pobs("mine", "dfg", "--db", "mined.duckdb", "--json", cwd=demo_dir).stdout)
    variants = json.loads(p2pobs("mine", "variants", "--object-type", "po_line", "--top", "5",
                                 "--db", "mined.duckdb", "--json", cwd=demo_dir).stdout)
    store = open_store(demo_dir / "mined.duckdb")
    try:
        expected_dfg = mining.dfg(store.cursor(), "invoice").to_pylist()
        expected_variants = mining.variants(store.cursor(), "po_line").slice(0, 5).to_pylist()
    finally:
        store.close()
    assert _rounded(dfg) == _rounded(json.loads(json.dumps(expected_dfg, default=str)))
    assert {"source", "target", "count", "median_s", "mean_s", "p90_s"} <= set(dfg[0])
    assert ("Receive Invoice", "Match Invoice") in {(e["source"], e["target"]) for e in dfg}
    assert _rounded(variants) == _rounded(json.loads(json.dumps(expected_variants, default=str)))
    assert len(variants) == 5


def test_mine_an_unknown_object_type_names_the_known_ones(demo_dir):
    p2pobs("ingest", "sim", "--db", "mined2.duckdb", cwd=demo_dir)
    done = p2pobs("mine", "dfg", "--object-type", "shipment", "--db", "mined2.duckdb", cwd=demo_dir)
    assert done.returncode == 2
    assert "no cases of object type 'shipment'" in done.stderr and "invoice" in done.stderr


def test_kpis_command_prints_every_kpi_the_models_compute(demo_dir):
    from models import kpis
    from models.store import open_store

    p2pobs("ingest", "sim", "--db", "kpis.duckdb", cwd=demo_dir)
    shown = json.loads(p2pobs("kpis", "--db", "kpis.duckdb", "--json", cwd=demo_dir).stdout)
    by_facility = json.loads(p2pobs("kpis", "--by", "facility", "--kpi", "cycle_time", "--db",
                                    "kpis.duckdb", "--json", cwd=demo_dir).stdout)
    store = open_store(demo_dir / "kpis.duckdb")
    try:
        expected = kpis.kpis(store.cursor()).to_pylist()
    finally:
        store.close()
    assert [r["kpi"] for r in shown] == [k.id for k in kpis.REGISTRY]
    # the same KPIs computed twice: DuckDB's parallel sums may differ in the last bit
    assert {r["kpi"]: r["value"] for r in shown} == pytest.approx(
        {r["kpi"]: r["value"] for r in expected}, rel=1e-12)
    assert {r["group"] for r in by_facility} == {"MHS-CHI", "MHS-NYC", "MHS-DEN", "MHS-PHX", "MHS-LAX"}
    assert all(r["kpi"] == "cycle_time" and r["value"] > 0 for r in by_facility)
