"""Figures for the analytics at scale, ours against pm4py's on the same data (not pass/fail).

Simulates a hospital network of N purchase orders (default 1,000,000; spans left out: no mining
question reads them), loads its state logs with the real collectors into a file store (records
per file, then the derived tables in one catch-up), then for each case notion times, each side in
its own fresh subprocess (so each side's peak RSS is its own; pm4py imported before the clock
starts on both sides):

- ours (`models/`, on the store, DuckDB's default threads): DFG with start/end activities,
  performance DFG, variants, discovery (IMf 0.2 from the variants, Petri net), conformance
  against the shipped reference model;
- pm4py on the store's case_event rows as a pandas DataFrame (the conversion timed apart and
  counted for neither): `discover_dfg`, `discover_performance_dfg`, `get_variants`,
  `discover_process_tree_inductive` (noise 0.2) + `convert_to_petri_net`,
  `fitness_token_based_replay` on the same reference net;

then the ratios, the issue's targets beside our figures, and whether the results agree (DFG and
start/end counts, variants, mean edge times, process tree, log fitness). Last, the BPI Challenge
2019 conformance comparison (benchmarks/conformance.py). Expect noisy timings on a shared box.

    .venv/bin/python benchmarks/analytics.py [--orders N] [--seed S] [--work DIR]
        [--object-types invoice,purchase_order] [--no-bpi]

--work DIR keeps the simulated logs and the store there; a run again with the same --orders
and --seed reuses them, and resumes a load that was stopped (files already loaded are skipped).
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The targets for our side on 2 cores, in seconds (memory in MB).
TARGETS = {"dfg+perf+variants": 1.5, "discovery": 3.0, "conformance": 10.0, "peak_mb": 2048}
NOISE = 0.2
EVENTS = """SELECT case_id AS "case:concept:name", activity AS "concept:name", ts AS "time:timestamp"
            FROM case_event WHERE object_type = $t ORDER BY case_id, position"""


def peak_mb() -> float:
    """This process's peak RSS since it started (VmHWM; ru_maxrss would carry the parent's
    peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Times steps into a dict, in the order they ran."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn, *args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return out


# -- the two sides, each run in its own process -------------------------------------------------
def ours(db: str, object_types: list[str]) -> dict:
    import duckdb

    from models import conformance, discovery, mining

    discovery._pm4py()                      # the import, outside the clock
    con = duckdb.connect(db, read_only=True)
    out = {}
    for ot in object_types:
        model = discovery.read_bpmn(conformance.reference_models()[ot])
        clock = Clock()
        dfg = clock("dfg", mining.dfg, con, ot, performance=False)
        start, end = clock("dfg", mining.start_end_activities, con, ot)
        perf = clock("performance dfg", mining.dfg, con, ot)
        variants = clock("variants", mining.variants, con, ot)
        tree = clock("discovery", lambda: discovery.discover_from_variants(mining.variants(con, ot), NOISE))
        checked = clock("conformance", conformance.check, con, ot, model=model)
        out[ot] = {"seconds": clock.seconds, "results": {
            "dfg": _edges(dfg, "count"), "start": start, "end": end,
            "mean_s": _edges(perf, "mean_s"),
            "variants": dict(zip(map(tuple, variants.column("variant").to_pylist()),
                                 variants.column("cases").to_pylist())),
            "tree": str(tree.tree), "log_fitness": checked["log_fitness"]}}
    return {"by_type": out, "peak_mb": peak_mb()}


def theirs(db: str, object_types: list[str]) -> dict:
    import duckdb

    from models import conformance, discovery

    pm4py = discovery._pm4py()
    con = duckdb.connect(db, read_only=True)
    out, rss_after_frames = {}, 0.0
    for ot in object_types:
        model = discovery.read_bpmn(conformance.reference_models()[ot])
        clock = Clock()
        df = clock("to DataFrame", lambda: con.sql(EVENTS, params={"t": ot}).df())
        rss_after_frames = max(rss_after_frames, peak_mb())
        dfg, start, end = clock("dfg", pm4py.discover_dfg, df)
        perf, _, _ = clock("performance dfg", pm4py.discover_performance_dfg, df)
        variants = clock("variants", pm4py.get_variants, df)
        tree = clock("discovery", pm4py.discover_process_tree_inductive, df, noise_threshold=NOISE)
        clock("discovery", pm4py.convert_to_petri_net, tree)
        fitness = clock("conformance", pm4py.fitness_token_based_replay, df, model.net,
                        model.initial_marking, model.final_marking)
        out[ot] = {"seconds": clock.seconds, "events": len(df), "results": {
            "dfg": dict(dfg), "start": dict(start), "end": dict(end),
            "mean_s": {k: v["mean"] for k, v in perf.items()},
            "variants": {tuple(k): int(v) for k, v in variants.items()},
            "tree": str(tree), "log_fitness": fitness["log_fitness"]}}
        del df
    return {"by_type": out, "peak_mb": peak_mb(), "rss_after_frames_mb": rss_after_frames}


def _edges(table, column: str) -> dict:
    return {(s, t): x for s, t, x in zip(table.column("source").to_pylist(),
                                         table.column("target").to_pylist(),
                                         table.column(column).to_pylist())}


SIDES = {"ours": ours, "pm4py": theirs}


def run_side(side: str, db: Path, object_types: list[str], work: Path) -> dict:
    """One side in a fresh interpreter; its results come back through a pickle file."""
    result = work / f"{side}.pickle"
    subprocess.run([sys.executable, __file__, "--side", side, "--db", str(db),
                    "--object-types", ",".join(object_types), "--result", str(result)], check=True)
    return pickle.loads(result.read_bytes())


# -- building the store -------------------------------------------------------------------------
def build(work: Path, orders: int, seed: int) -> Path:
    """Simulate and load into `work`, resuming what an earlier run with the same size left there
    (its simulation, the files it loaded; the derived tables catch up at the end)."""
    from collectors.sources import plan
    from models.store import open_store
    from sample_logs.simulate import simulate

    sim, db, size = work / "sim", work / "p2p.duckdb", {"orders": orders, "seed": seed}
    manifest = sim / "manifest.json"
    if not manifest.exists() or {k: json.loads(manifest.read_text())[k] for k in size} != size:
        db.unlink(missing_ok=True)
        t = time.perf_counter()
        simulate(sim, orders=orders, seed=seed, spans=False)
        print(f"simulate {orders:,} orders (seed {seed}, no spans): {time.perf_counter() - t:,.1f} s", flush=True)
    store = open_store(db)
    con = store.cursor()
    done = {r[0] for r in con.sql("SELECT source FROM ingest_batch").fetchall()}
    t, accepted = time.perf_counter(), 0
    for source in plan([sim]):          # each file one load, as `p2pobs ingest` reads them
        if str(source.path) in done:
            continue
        with store.load(str(source.path), source.kind, str(source.mapping), derive=False) as load:
            for batch in source.batches():
                load.write(batch)
        accepted += load.result.accepted
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    store.catch_up()
    print(f"load {accepted:,} events{f' (resumed after {len(done)} files)' if done else ''}: "
          f"records {loaded:,.1f} s, derived tables {time.perf_counter() - t:,.1f} s")
    for ot, cases, events, variants in con.sql(
            "SELECT object_type, count(*), sum(events), count(DISTINCT variant_hash) FROM case_variant "
            "WHERE object_type IN ('invoice', 'purchase_order') GROUP BY ALL ORDER BY 1").fetchall():
        print(f"  {ot}: {cases:,} cases, {events:,} events, {variants:,} variants", flush=True)
    store.close()
    return db


# -- the report ---------------------------------------------------------------------------------
def report(mine: dict, pm: dict) -> None:
    for ot, o in mine["by_type"].items():
        p = pm["by_type"][ot]
        print(f"\n{ot}: {p['events']:,} events; pm4py's DataFrame built in "
              f"{p['seconds']['to DataFrame']:.1f} s (counted for neither side)")
        print(f"  {'':<22}{'ours s':>9}{'pm4py s':>10}{'ratio':>9}   target (ours)")
        rows = [("dfg (+start/end)", "dfg"), ("performance dfg", "performance dfg"),
                ("variants", "variants")]
        total = [0.0, 0.0]
        for label, key in rows:
            a, b = o["seconds"][key], p["seconds"][key]
            total = [total[0] + a, total[1] + b]
            print(f"  {label:<22}{a:9.2f}{b:10.2f}{b / a:8.0f}x")
        _line("= dfg+perf+variants", *total, TARGETS["dfg+perf+variants"])
        _line("discovery (IMf 0.2)", o["seconds"]["discovery"], p["seconds"]["discovery"], TARGETS["discovery"])
        _line("conformance", o["seconds"]["conformance"], p["seconds"]["conformance"], TARGETS["conformance"])
        for check, same in agreement(o["results"], p["results"]).items():
            print(f"  equal to pm4py: {check:<34} {same}")
    peak, theirs_peak = mine["peak_mb"], pm["peak_mb"]
    print(f"\npeak RSS (each side's own process, VmHWM): ours {peak:,.0f} MB "
          f"(target <= {TARGETS['peak_mb']:,} MB: {'met' if peak <= TARGETS['peak_mb'] else 'MISSED'}); "
          f"pm4py {theirs_peak:,.0f} MB, of which {pm['rss_after_frames_mb']:,.0f} MB reached "
          "while building its DataFrame")


def _line(label: str, a: float, b: float, target: float) -> None:
    verdict = "met" if a <= target else "MISSED"
    print(f"  {label:<22}{a:9.2f}{b:10.2f}{b / a:8.0f}x   <= {target:g} s: {verdict}")


def agreement(a: dict, b: dict) -> dict[str, str]:
    """Which results equal pm4py's: yes, or what differs."""
    def same(x, y):
        if x == y:
            return "yes"
        keys = set(x) | set(y)
        return f"NO ({sum(x.get(k) != y.get(k) for k in keys)} of {len(keys)} entries differ)"

    close = lambda x, y: x.keys() == y.keys() and all(abs(x[k] - y[k]) <= 1e-6 * max(1, abs(y[k])) for k in x)
    return {
        "DFG counts": same(a["dfg"], b["dfg"]),
        "start / end activities": same({**a["start"], **{"end " + k: n for k, n in a["end"].items()}},
                                       {**b["start"], **{"end " + k: n for k, n in b["end"].items()}}),
        "variants and their cases": same(a["variants"], b["variants"]),
        "mean time of every edge": "yes" if close(a["mean_s"], b["mean_s"]) else "NO",
        "process tree (IMf 0.2)": "yes" if a["tree"] == b["tree"] else "NO",
        "log fitness": f"{a['log_fitness']:.12f} vs {b['log_fitness']:.12f}",
    }


def bpi_2019() -> None:
    """The real-log comparison, as benchmarks/conformance.py prints it."""
    print("\nBPI Challenge 2019 sample, conformance (target: ours >= 10x faster than pm4py):", flush=True)
    subprocess.run([sys.executable, str(Path(__file__).with_name("conformance.py"))], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, help="keep (and reuse) the simulated logs and store here")
    ap.add_argument("--object-types", default="invoice", help="comma-separated case notions")
    ap.add_argument("--no-bpi", action="store_true", help="skip the BPI Challenge 2019 comparison")
    ap.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    object_types = args.object_types.split(",")
    if args.side:
        args.result.write_bytes(pickle.dumps(SIDES[args.side](args.db, object_types)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = build(work, args.orders, args.seed)
        mine = run_side("ours", db, object_types, work)
        pm = run_side("pm4py", db, object_types, work)
        report(mine, pm)
    if not args.no_bpi:
        bpi_2019()


if __name__ == "__main__":
    main()
