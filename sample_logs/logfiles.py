"""Writing a source system's log: rows sorted by time, split by month, CSV or JSON lines.

Byte-identical output for the same input: stable sorts, no wall-clock values, fixed float text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sample_logs import clock


def stack(blocks: list[dict], columns: list[str]) -> tuple[pa.Table, np.ndarray]:
    """Concatenate event blocks (dicts of arrays, "_time" in ms) into one table sorted by time."""
    tables, times = [], []
    for b in blocks:
        n = len(b["_time"])
        if not n:
            continue
        cols = {}
        for name in columns:
            value = b.get(name, "")
            if isinstance(value, (str, int, float)):
                value = pa.array(np.full(n, value, dtype=object if isinstance(value, str) else None))
            cols[name] = pa.array(value) if not isinstance(value, (pa.Array, pa.ChunkedArray)) else value
            if cols[name].type != pa.string():
                cols[name] = pc.cast(cols[name], pa.string())
        tables.append(pa.table(cols))
        times.append(np.asarray(b["_time"], np.int64))
    table = pa.concat_tables(tables)
    time = np.concatenate(times)
    order = np.argsort(time, kind="stable")
    return table.take(pa.array(order)), time[order]


def money(x: np.ndarray) -> pa.Array:
    """Amounts with exactly two decimals, as text (stable across platforms)."""
    cents = np.round(np.asarray(x, float) * 100).astype(np.int64)
    sign = np.where(cents < 0, "-", "")
    whole = pc.cast(pa.array(np.abs(cents) // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(np.abs(cents) % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(pa.array(sign), whole, ".", frac, "")


def by_month(table: pa.Table, time_ms: np.ndarray):
    """(yyyy-mm, slice) pairs in month order; the table is already sorted by time."""
    month = (time_ms // clock.MS_DAY).astype("datetime64[D]").astype("datetime64[M]")
    # supplier master history before the business year goes into one file, not dozens
    month = np.maximum(month, np.datetime64(clock.YEAR_START.strftime("%Y-%m"), "M") - 1)
    keys, starts = np.unique(month, return_index=True)
    ends = list(starts[1:]) + [len(time_ms)]
    for k, s, e in zip(keys, starts, ends):
        yield str(k), table.slice(int(s), int(e - s))


def write_csv(path: Path, table: pa.Table, delimiter: str = ",", bom: bool = False) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        if bom:
            f.write(b"\xef\xbb\xbf")
        pacsv.write_csv(table, f, pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed"))
    return table.num_rows


def write_jsonl(path: Path, table: pa.Table, numeric: tuple[str, ...] = ()) -> int:
    """JSON lines; `numeric` columns are written as JSON numbers, empty strings as null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df = table.to_pandas()
    for name in df.columns:
        df[name] = df[name].replace("", None)
    for name in numeric:
        df[name] = df[name].astype(float)
    df.to_json(path, orient="records", lines=True, force_ascii=True, double_precision=10)
    return table.num_rows
