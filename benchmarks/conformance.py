"""Figures for conformance checking (not pass/fail): ours against pm4py's token replay.

Real log (default: the BPI Challenge 2019 sample in the shared real-data folder beside the
repository): read into a temporary store through `app.ingest.ingest`, a model discovered by IMf
(noise 0.2) from its variants, then in the same run
- ours: `conformance.check` (SQL variants, net conversion, replay of each distinct variant);
- pm4py: `pm4py.fitness_token_based_replay` on the log as pm4py reads it, on the same net;
the times, their ratio, both log fitnesses, and the peak memory (RSS) of the process.

    .venv/bin/python benchmarks/conformance.py [--log PATH] [--orders N] [--no-pm4py]

--orders N instead simulates a hospital network of N purchase orders and checks the
purchase_order case notion against the shipped reference model (pm4py's replay on the same net
over the store's cases as a DataFrame).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import peak_mb  # noqa: E402  (this process's own peak, not its parent's)
from app.ingest import ingest  # noqa: E402
from models import conformance, discovery, mining  # noqa: E402
from models.store import open_store  # noqa: E402
from models.vocabulary import CASE, PURCHASE_ORDER  # noqa: E402

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, default=REAL_DATA / "16_bpic2019_1t_per_variant.xes.gz")
    ap.add_argument("--orders", type=int, help="simulate this many purchase orders instead")
    ap.add_argument("--no-pm4py", action="store_true", help="time ours only")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "p2p.duckdb")
        t = time.perf_counter()
        if args.orders:
            from sample_logs.simulate import simulate

            simulate(Path(tmp) / "sim", orders=args.orders)
            ingest(store, [Path(tmp) / "sim"])
            object_type = PURCHASE_ORDER
        else:
            ingest(store, [args.log])
            object_type = CASE
        con = store.cursor()
        print(f"store: {time.perf_counter() - t:.1f} s to load; "
              f"{mining.object_types(con).to_pylist()}")

        t = time.perf_counter()
        variants = mining.variants(con, object_type)
        model = (discovery.read_bpmn(conformance.reference_models()[object_type]) if args.orders
                 else discovery.discover_from_variants(variants, 0.2))
        print(f"model: {model.size()} ({time.perf_counter() - t:.1f} s incl. the pm4py import)")

        t = time.perf_counter()
        ours = conformance.check(con, object_type, model=model)
        t_ours = time.perf_counter() - t
        print(f"ours:  {t_ours:8.2f} s  {ours['cases']:,} cases, {ours['variants']:,} variants, "
              f"log fitness {ours['log_fitness']:.12f}, fitting {ours['fitting_cases_share']:.4f}; "
              f"peak RSS {peak_mb():,.0f} MB")
        if args.no_pm4py:
            return

        import pm4py

        t = time.perf_counter()
        if args.orders:
            df = con.sql("""SELECT case_id AS "case:concept:name", activity AS "concept:name",
                                   ts AS "time:timestamp", position
                            FROM case_event WHERE object_type = $t ORDER BY case_id, position""",
                         params={"t": object_type}).df()
        else:
            df = pm4py.read_xes(str(args.log))
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        theirs = pm4py.fitness_token_based_replay(df, model.net, model.initial_marking, model.final_marking)
        t_pm4py = time.perf_counter() - t
        print(f"pm4py: {t_pm4py:8.2f} s  token replay (+{t_read:.1f} s to read the log), "
              f"log fitness {theirs['log_fitness']:.12f}, fitting {theirs['perc_fit_traces'] / 100:.4f}; "
              f"peak RSS {peak_mb():,.0f} MB")
        print(f"ratio: ours is {t_pm4py / t_ours:.1f}x faster; "
              f"log fitness difference {abs(theirs['log_fitness'] - ours['log_fitness']):.2e}")
        store.close()


if __name__ == "__main__":
    main()
