"""Figures for mining over the store (not pass/fail).

Builds a file store of N cases (default 1,000,000 invoices, ~10.5 events each, ~10k variants,
five facilities,
about one case in ten with an event in another facility) loaded in --batches loads through `Store.ingest`, then prints:
- the cost of deriving case_event / case_variant in each load (`mining.refresh`) against the
  whole load, and of a small load touching 1,000 existing cases in the full store;
- the time of each question (DFG with and without performance, variants, start/end
  activities, object types, the OC-DFG), unscoped and scoped to one facility.

    .venv/bin/python benchmarks/mining.py [--cases N] [--batches B] [--pm4py]

--pm4py also times pm4py's discover_dfg and get_variants on the same log as a DataFrame.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

import models.store  # noqa: E402
from models import mining  # noqa: E402
from models.batches import Batch  # noqa: E402
from models.store import open_store  # noqa: E402
from models.vocabulary import ACTIVITIES, INVOICE  # noqa: E402

# 50 process shapes of 6-15 activities; one case in ten deviates at one position.
GENERATE = """
WITH cases AS (SELECT range AS c, (hash(range) % 50)::BIGINT AS shape FROM range($lo, $hi)),
     steps AS (
        SELECT c, shape, i, 6 + shape % 10 AS n
        FROM cases, LATERAL (SELECT unnest(range(6 + shape % 10)) AS i)
     )
SELECT 'ev:' || c || ':' || i                                          AS event_id,
       $acts[1 + CASE WHEN hash(c, 2) % 10 = 0 AND i = hash(c, 1) % n
                      THEN hash(c, i) % 26 ELSE hash(shape, i) % 26 END::INTEGER] AS activity,
       TIMESTAMP '2025-01-01' + to_seconds((c % 525600) * 60 + i * 3600 + (hash(c, i) % 1800)::BIGINT) AS ts,
       'ap'                                                            AS source_system,
       'F' || CASE WHEN hash(c, i, 7) % 100 = 0 THEN hash(c, i) % 5
                   ELSE hash(c) % 5 END                                AS facility,
       c * 16 + i                                                      AS source_order,
       'INV-' || c                                                     AS object_id
FROM steps
"""


def batch(con, lo: int, hi: int) -> Batch:
    rows = con.sql(GENERATE, params={"lo": lo, "hi": hi, "acts": list(ACTIVITIES)}).to_arrow_table()
    objects = con.sql("SELECT 'INV-' || range AS object_id, $t AS object_type FROM range($lo, $hi)",
                      params={"lo": lo, "hi": hi, "t": INVOICE}).to_arrow_table()
    return Batch(event=rows.drop_columns(["object_id"]), object=objects,
                 event_object=rows.select(["event_id", "object_id"]))


def timed(label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"  {label:<44} {time.perf_counter() - start:7.3f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--pm4py", action="store_true")
    args = parser.parse_args()

    refresh_times: list[float] = []
    original = mining.refresh

    def measured_refresh(con, *batches):
        start = time.perf_counter()
        original(con, *batches)
        refresh_times.append(time.perf_counter() - start)

    models.store.REFRESHES = tuple(measured_refresh if f is original else f for f in models.store.REFRESHES)
    gen = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "p2p.duckdb")
        step = args.cases // args.batches
        print(f"loading {args.cases:,} cases in {args.batches} loads")
        load_total = 0.0
        for k in range(args.batches):
            b = batch(gen, k * step, (k + 1) * step)
            start = time.perf_counter()
            result = store.ingest([b], source=f"batch {k}", kind="state_log")
            took = time.perf_counter() - start
            load_total += took
            print(f"  load {k}: {result.accepted:,} events in {took:.2f} s, of which refresh "
                  f"{refresh_times[-1]:.2f} s")
        con = store.cursor()
        events = con.sql("SELECT count(*) FROM event").fetchall()[0][0]
        shape = con.sql("SELECT count(DISTINCT variant_hash), count(*) FILTER (WHERE case_facility IS NULL) "
                        "FROM case_variant").fetchall()[0]
        print(f"store: {events:,} events, {shape[0]:,} variants, {shape[1]:,} cases across facilities")
        print(f"loads {load_total:.1f} s, refresh {sum(refresh_times):.1f} s "
              f"({sum(refresh_times) / load_total:.0%})")

        # a small load: one more event on 1,000 existing cases, spread over the store
        few = gen.sql("SELECT 'late:' || range AS event_id, $a AS activity, "
                      "TIMESTAMP '2026-06-01' AS ts, 'erp' AS source_system, 'F1' AS facility, "
                      "range AS source_order, 'INV-' || (range * $spread) AS object_id FROM range(1000)",
                      params={"a": ACTIVITIES[-1], "spread": args.cases // 1000}).to_arrow_table()
        start = time.perf_counter()
        store.ingest([Batch(event=few.drop_columns(["object_id"]),
                            event_object=few.select(["event_id", "object_id"]))],
                     source="late", kind="state_log")
        print(f"small load (1,000 events on 1,000 cases): {time.perf_counter() - start:.3f} s, "
              f"refresh {refresh_times[-1]:.3f} s")

        for scope in (None, ["F1"]):
            print(f"questions, facilities={scope}:")
            total = time.perf_counter()
            timed("dfg (counts + median/mean/p90)", mining.dfg, con, INVOICE, scope)
            timed("variants", mining.variants, con, INVOICE, scope)
            print(f"  {'= dfg + performance + variants':<44} {time.perf_counter() - total:7.3f} s")
            timed("dfg (counts only)", mining.dfg, con, INVOICE, scope, performance=False)
            timed("start_activities", mining.start_activities, con, INVOICE, scope)
            timed("end_activities", mining.end_activities, con, INVOICE, scope)
            timed("object_types", mining.object_types, con, scope)
            timed("object_centric_dfg", mining.object_centric_dfg, con, scope)

        if args.pm4py:
            import pm4py

            df = con.sql("SELECT case_id AS \"case:concept:name\", activity AS \"concept:name\", "
                         "ts AS \"time:timestamp\" FROM case_event ORDER BY case_id, position").df()
            print("pm4py on the same log as a DataFrame:")
            timed("pm4py.discover_dfg", pm4py.discover_dfg, df)
            timed("pm4py.get_variants", pm4py.get_variants, df)
        store.close()


if __name__ == "__main__":
    main()
