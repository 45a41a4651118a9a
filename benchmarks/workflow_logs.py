"""Figures for reading state logs through a mapping (not pass/fail).

Generates a CSV and a JSON-lines log of N rows (default 1,000,000) in a temporary directory,
with a realistic mapping (id column, strptime format, zone, activity and facility lookups,
attributes, two objects with attributes, a link), then prints for each: events/s of the reader
alone, its peak memory, and the time of a whole `store.ingest` into a fresh file store.
Peak memory is the process's peak resident set size (resource.getrusage ru_maxrss) measured
in a fresh child process per run, so one run's peak does not hide the next.

    .venv/bin/python benchmarks/workflow_logs.py [--rows N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MAPPING = """
[source]
system = "erp"
format = "{fmt}"
delimiter = ";"

[event]
id = "change_no"
activity = "tcode"
timestamp = "changed_on"
timestamp_format = "%d.%m.%Y %H:%M:%S"
timezone = "Europe/Berlin"
facility = "plant"
actor = "user_name"
default_actor_kind = "person"

[activities]
ME21N = "Create Purchase Order"
MIGO = "Record Goods Receipt"
MIRO = "Receive Invoice"
F110 = "Release Payment"

[facilities]
"1010" = "MERCY-CHI"
"1020" = "MERCY-STL"

[attributes]
amount = "net_value"
currency = "curr"

[[object]]
type = "purchase_order"
id = "po_number"
pattern = '^(?:PO[- ]?)?(\\d+)$'
template = "PO-{{}}"
attributes = {{ total = "net_value", currency = "curr" }}

[[object]]
type = "invoice"
id = "invoice_no"
template = "INV-{{}}"
qualifier = "billed"
attributes = {{ amount = "net_value" }}

[[link]]
source = "invoice"
target = "purchase_order"
qualifier = "bills"
"""
COLUMNS = ["change_no", "tcode", "changed_on", "plant", "user_name", "po_number", "invoice_no", "net_value", "curr"]


def rows(n: int):
    rnd = random.Random(7)
    codes = ["ME21N", "MIGO", "MIRO", "F110", "ME22N"]
    for i in range(n):
        po = 4500000000 + i // 5
        yield [str(i + 1), codes[i % 5], f"{1 + i % 28:02d}.{1 + i % 12:02d}.2024 {i % 24:02d}:{i % 60:02d}:00",
               rnd.choice(["1010", "1020", "1030"]), f"USER{i % 97}", f"PO {po}",
               str(700000 + i // 5) if i % 5 == 2 else "", f"{rnd.random() * 10000:.2f}", "USD"]


def generate(folder: Path, n: int) -> dict[str, tuple[Path, Path]]:
    out = {}
    csv_path, jsonl_path = folder / "erp.csv", folder / "erp.jsonl"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write(";".join(COLUMNS) + "\n")
        for r in rows(n):
            f.write(";".join(r) + "\n")
    with open(jsonl_path, "w", encoding="utf-8") as f:
        for r in rows(n):
            f.write(json.dumps(dict(zip(COLUMNS, r))) + "\n")
    for fmt, data in (("csv", csv_path), ("jsonl", jsonl_path)):
        m = folder / f"erp_{fmt}.toml"
        m.write_text(MAPPING.format(fmt=fmt), encoding="utf-8")
        out[fmt] = (data, m)
    return out


def _run(what: str, fmt: str, data: str, mapping: str, db: str, queue) -> None:
    from collectors.mappings import read_mapping
    from collectors.workflow_logs import read_csv, read_jsonl
    from models.store import open_store

    m = read_mapping(mapping)
    reader = read_csv if fmt == "csv" else read_jsonl
    start = time.perf_counter()
    if what == "read":
        events = sum(b.event.num_rows for b in reader(data, m))
    else:
        store = open_store(db)
        events = store.ingest(reader(data, m), source=data, kind="state_log").accepted
        store.close()
    seconds = time.perf_counter() - start
    queue.put((events, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(what: str, fmt: str, data: Path, mapping: Path, db: Path) -> tuple[int, float, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_run, args=(what, fmt, str(data), str(mapping), str(db), queue))
    p.start()
    result = queue.get()
    p.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        files = generate(folder, args.rows)
        print(f"generated {args.rows:,} rows as CSV and JSONL in {time.perf_counter() - t:.1f} s")
        print(f"{'format':<6} {'step':<13} {'events':>10} {'seconds':>8} {'events/s':>10} {'peak RSS MB':>12}")
        for fmt, (data, mapping) in files.items():
            for what in ("read", "store.ingest"):
                events, seconds, peak = measure(what, fmt, data, mapping, folder / f"{fmt}.duckdb")
                print(f"{fmt:<6} {what:<13} {events:>10,} {seconds:>8.2f} {events / seconds:>10,.0f} {peak:>12,.0f}")


if __name__ == "__main__":
    main()
