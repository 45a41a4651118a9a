"""Figures for importing workflow logs (not pass/fail): CSV and JSON lines through a mapping,
and XES against pm4py's readers, measured in the same run.

1. Generates a CSV and a JSON-lines log of N rows (default 1,000,000) in a temporary directory,
   with a realistic mapping (id column, strptime format, zone, activity and facility lookups,
   attributes, two objects with attributes, a link), and prints for each events/s of the reader
   alone, file -> events committed (the derived tables' catch-up timed apart, as the receiver
   and `serve` run it) and end to end in one load (file -> committed store with its derived
   tables, `store.ingest` into a fresh file store).
2. Imports the BPI Challenge 2019 sample (default: the shared real-data folder beside the
   repository) into a fresh store: file -> events committed (what compares with pm4py, whose
   readers give a DataFrame of the events), then the derived tables' catch-up timed apart, and
   end to end in one load; reader alone; and the store alone (the batches read before its
   clock starts, so it shows the floor the store sets). Against `pm4py.read_xes` on the same
   file with pm4py's default reader (lxml iterparse) and with its Rust reader r4pm. r4pm (and
   polars, which it needs) are no dependency of the project: they are installed ad hoc for that
   one run (`uv run --with r4pm --with polars`); where that fails the output says so and the run
   goes on.

3. With --large-store PATH: a small file (--small-rows, default 100) into a copy of the store at
   PATH (say a 1M-order one; the original is never written), records only: new events, then
   the same file again (every record a duplicate). What a load costs there should follow the
   file, not the store; the derived tables' catch-up is not timed here. A store of an earlier
   schema version is upgraded when opened (its derived tables made again), which takes long.

Every figure comes from a fresh child process (imports done before the clock starts), so one
run's peak memory (resident set size, ru_maxrss) does not hide the next. Wall seconds are noisy
on a shared machine: the load average is printed, and so are CPU seconds and ratios.

    .venv/bin/python benchmarks/workflow_logs.py [--rows N (0: none)] [--xes PATH] [--no-xes] [--no-r4pm]
                                                 [--large-store PATH [--small-rows N]]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL_DATA = ROOT.parent / "shared" / "real-data"
BPI2019 = REAL_DATA / "16_bpic2019_1t_per_variant.xes.gz"
TARGET_EVENTS_PER_S = 500_000      # the target for CSV and JSONL, file to committed store

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


def rows(n: int, first: int = 0):
    rnd = random.Random(7)
    codes = ["ME21N", "MIGO", "MIRO", "F110", "ME22N"]
    for i in range(first, first + n):
        po = 4500000000 + i // 5
        yield [str(i + 1), codes[i % 5], f"{1 + i % 28:02d}.{1 + i % 12:02d}.2024 {i % 24:02d}:{i % 60:02d}:00",
               rnd.choice(["1010", "1020", "1030"]), f"USER{i % 97}", f"PO {po}",
               str(700000 + i // 5) if i % 5 == 2 else "", f"{rnd.random() * 10000:.2f}", "USD"]


def generate(folder: Path, n: int, first: int = 0) -> dict[str, tuple[Path, Path]]:
    out = {}
    csv_path, jsonl_path = folder / "erp.csv", folder / "erp.jsonl"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write(";".join(COLUMNS) + "\n")
        for r in rows(n, first):
            f.write(";".join(r) + "\n")
    with open(jsonl_path, "w", encoding="utf-8") as f:
        for r in rows(n, first):
            f.write(json.dumps(dict(zip(COLUMNS, r))) + "\n")
    for fmt, data in (("csv", csv_path), ("jsonl", jsonl_path)):
        m = folder / f"erp_{fmt}.toml"
        m.write_text(MAPPING.format(fmt=fmt), encoding="utf-8")
        out[fmt] = (data, m)
    return out


# -- one measurement, in a child process --------------------------------------------------------
def run(what: str, data: str, mapping: str | None, db: str) -> dict:
    """Time `what` on `data` (imports first, outside the clock); events, seconds, CPU, peak MB."""
    import pandas  # noqa: F401  (imported by pm4py and by Arrow conversions alike: kept off the clock)

    if what.startswith("pm4py"):
        os.environ["PM4PY_SHOW_PROGRESS_BAR"] = "false"
        import pm4py
        variant = "r4pm" if what == "pm4py r4pm" else "iterparse"

        def work() -> int:
            return len(pm4py.read_xes(data, variant=variant))
    else:
        from collectors.mappings import read_mapping
        from collectors.workflow_logs import read_csv, read_jsonl
        from collectors.xes import read_xes
        from models.store import open_store

        m = read_mapping(mapping) if mapping else None
        reader = {".csv": read_csv, ".jsonl": read_jsonl}.get(Path(data).suffix, read_xes)
        ready = list(reader(data, m)) if what == "store" else None   # the store's share: read off the clock

        def batches():
            return ready if ready is not None else reader(data, m)

        def work() -> int:
            if what == "read":
                return sum(b.event.num_rows for b in reader(data, m) if b.event is not None)
            store = open_store(db)
            try:
                if what == "small":    # records only, twice: new, then all duplicates
                    figures = []
                    for _ in range(2):
                        start_one, cpu_one = time.perf_counter(), time.process_time()
                        with store.load(data, "benchmark", derive=False) as load:
                            for batch in reader(data, m):
                                load.write(batch)
                        figures.append(_figures(start_one, cpu_one, load.result.accepted))
                    after["small"] = figures
                    return 0
                if what in ("records", "store"):   # the events committed; derived tables after, timed apart
                    with store.load(data, "benchmark", derive=False) as load:
                        for batch in batches():
                            load.write(batch)
                    after["records"] = _figures(start, cpu, load.result.accepted)
                    store.catch_up()
                    return load.result.accepted
                return store.ingest(reader(data, m), source=data, kind="benchmark").accepted
            finally:
                store.close()
    after: dict = {}
    start, cpu = time.perf_counter(), time.process_time()
    events = work()
    if "small" in after:
        return {"new": after["small"][0], "again": after["small"][1]}
    if "records" in after:
        done = time.perf_counter()
        return {**after["records"], "catch_up_seconds": done - start - after["records"]["seconds"],
                "end_to_end_seconds": done - start}
    return _figures(start, cpu, events)


def _figures(start: float, cpu: float, events: int) -> dict:
    return {"events": events, "seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(what, data, mapping, db, queue) -> None:
    queue.put(run(what, data, mapping, db))


def measure(what: str, data: Path, mapping: Path | None, db: Path) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_child, args=(what, str(data), str(mapping) if mapping else None, str(db), queue))
    p.start()
    result = queue.get()
    p.join()
    return result


def measure_r4pm(data: Path) -> dict | str:
    """pm4py's r4pm reader, with r4pm and polars installed ad hoc by uv for this run only."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        return "uv not found, so r4pm could not be installed for this run"
    cmd = [uv, "run", "--no-sync", "--with", "r4pm", "--with", "polars", "python", __file__,
           "--child", "pm4py r4pm", str(data)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    last = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    if not last or not last[0].startswith("{"):
        return "r4pm could not be installed or run here: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(last[0])


# -- report -------------------------------------------------------------------------------------
def line(label: str, r: dict) -> str:
    return (f"{label:<30} {r['events']:>10,} {r['seconds']:>8.2f} {r['cpu']:>8.2f} "
            f"{r['events'] / r['seconds']:>11,.0f} {r['peak_mb']:>9,.0f}")


HEADER = f"{'':<30} {'events':>10} {'wall s':>8} {'CPU s':>8} {'events/s':>11} {'peak MB':>9}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xes", type=Path, default=BPI2019)
    ap.add_argument("--no-xes", action="store_true")
    ap.add_argument("--no-r4pm", action="store_true")
    ap.add_argument("--large-store", type=Path, help="a store to load a small file into a copy of")
    ap.add_argument("--small-rows", type=int, default=100)
    ap.add_argument("--child", nargs=2, metavar=("WHAT", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:      # one pm4py run in an environment that has r4pm (see measure_r4pm)
        print(json.dumps(run(args.child[0], args.child[1], None, "")))
        return

    print(f"{os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.rows:
            csv_and_jsonl(folder, args.rows)
        if not args.no_xes:
            xes(args.xes, folder, not args.no_r4pm)
        if args.large_store:
            into_large_store(args.large_store, args.small_rows, folder)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


def csv_and_jsonl(folder: Path, n: int) -> None:
    t = time.perf_counter()
    files = generate(folder, n)
    print(f"generated {n:,} rows as CSV and JSONL in {time.perf_counter() - t:.1f} s\n")
    print(HEADER)
    ends = {}
    for fmt, (data, mapping) in files.items():
        for what, label in (("read", "reader alone"), ("records", "file -> events stored"),
                            ("ingest", "file -> committed store")):
            r = measure(what, data, mapping, folder / f"{fmt}-{what}.duckdb")
            derived = f"   then derived tables {r['catch_up_seconds']:.2f} s" if what == "records" else ""
            print(line(f"{fmt} {label}", r) + derived)
            ends[fmt, what] = r
    for (fmt, what), r in ends.items():
        if what != "read":
            rate = r["events"] / r["seconds"]
            print(f"{fmt} {'events stored' if what == 'records' else 'end to end'}: "
                  f"{rate / TARGET_EVENTS_PER_S:.2f}x the target of {TARGET_EVENTS_PER_S:,} events/s "
                  f"({r['events'] / r['cpu']:,.0f} events per CPU second)")


def into_large_store(path: Path, n: int, folder: Path) -> None:
    if not path.is_file():
        print(f"\nlarge store: {path} not found")
        return
    copy = folder / "large.duckdb"
    t = time.perf_counter()
    shutil.copyfile(path, copy)
    small = folder / "small"
    small.mkdir()
    data, mapping = generate(small, n, first=10**12)["csv"]
    print(f"\n{n:,} rows into a copy of {path.name} ({path.stat().st_size / 1e9:.1f} GB, copied in "
          f"{time.perf_counter() - t:.0f} s), records only, load average {os.getloadavg()[0]:.1f}")
    print(HEADER)
    r = measure("small", data, mapping, copy)
    print(line("small file, new events", r["new"]))
    print(line("same file again (duplicates)", r["again"]))
    copy.unlink()


def xes(path: Path, folder: Path, with_r4pm: bool) -> None:
    if not path.is_file():
        print(f"\nXES: {path} not found; pass --xes PATH")
        return
    print(f"\nXES {path.name}")
    print(HEADER)
    ours = measure("records", path, None, folder / "xes-records.duckdb")
    print(line("ours: file -> events stored", ours) + f"   then derived tables {ours['catch_up_seconds']:.2f} s "
          f"(together {ours['end_to_end_seconds']:.2f} s)")
    print(line("ours: file -> store, derived", measure("ingest", path, None, folder / "xes.duckdb")))
    print(line("ours: store alone (read before)", measure("store", path, None, folder / "xes-store.duckdb")))
    print(line("ours: reader alone", measure("read", path, None, folder / "unused.duckdb")))
    default = measure("pm4py default", path, None, folder / "unused.duckdb")
    print(line("pm4py.read_xes default", default))
    r4pm = measure_r4pm(path) if with_r4pm else "skipped (--no-r4pm)"
    if isinstance(r4pm, dict):
        print(line("pm4py.read_xes r4pm", r4pm))
    else:
        print(f"{'pm4py.read_xes r4pm':<30} {r4pm}")
    print("\nours (read + store) below: file -> events committed in the store (what r4pm gives is a "
          "DataFrame of the events); the derived tables (case ordering, KPIs, …) catch up after it, "
          "timed apart above")
    print(f"ours (read + store) vs pm4py default: {default['seconds'] / ours['seconds']:.1f}x as fast "
          f"(wall), {default['cpu'] / ours['cpu']:.1f}x (CPU); peak memory "
          f"{ours['peak_mb'] / default['peak_mb']:.2f}x")
    fastest = min([default] + ([r4pm] if isinstance(r4pm, dict) else []), key=lambda r: r["seconds"])
    print(f"target (at least as fast as pm4py's faster reader): "
          f"{'met' if ours['seconds'] <= fastest['seconds'] else 'not met'}")
    if isinstance(r4pm, dict):
        print(f"ours (read + store) vs pm4py r4pm:    {r4pm['seconds'] / ours['seconds']:.2f}x as fast "
              f"(wall), {r4pm['cpu'] / ours['cpu']:.2f}x (CPU); peak memory "
              f"{ours['peak_mb'] / r4pm['peak_mb']:.2f}x")


if __name__ == "__main__":
    main()
