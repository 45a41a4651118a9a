"""State logs (CSV, JSONL) read through a mapping into canonical batches, streaming.

Each block of whole lines is parsed with pyarrow (CSV) or DuckDB's JSON functions (JSONL) and
translated in SQL (`translate.Translator`). Python touches single rows only where vectorised
parsing failed: a CSV block whose records do not sit one per line, or with a wrong field count,
is re-read with the csv module to find each record's line and raw text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from collectors.errors import UnreadableSource
from collectors.mappings import Mapping, is_pm4py_log, pm4py_mapping
from collectors.text_blocks import SNIFF_CHARS, encoding_of, line_blocks, read_ahead, sniff_delimiter
from collectors.translate import CSV, JSONL, Translator
from models.batches import Batch, dead_letters

BATCH_ROWS = 200_000
# What replay needs to re-read a JSON line: nothing but its format (a line is self-contained).
JSONL_CONTEXT = json.dumps({"format": JSONL})


def read_csv(path: str | Path, mapping: Mapping | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The batches of the CSV state log at `path` read through `mapping` (the pm4py convention
    when None). Rows that cannot be mapped become dead letters; the rest land."""
    source = str(path)
    encoding = encoding_of(path, mapping.encoding if mapping else None)
    blocks = line_blocks(path, encoding, _block_bytes(path, encoding, batch_rows))
    first = next(blocks, None)
    if first is None or not first[1].strip():
        raise UnreadableSource(f"{source}: empty file, expected a header line and rows")
    _, text = first
    delimiter = (mapping.delimiter if mapping else None) or sniff_delimiter(text[:SNIFF_CHARS])
    header_end = text.find("\n") + 1 or len(text)
    header = next(csv.reader([text[:header_end].rstrip("\r\n")], delimiter=delimiter))
    header = _unique_names(header)
    mapping = _resolve(mapping, header, source)
    context = csv_context(text[:header_end].rstrip("\r\n"), delimiter, encoding)
    yield from read_ahead(_csv_batches(mapping, source, header, delimiter, _chain([(2, text[header_end:])], blocks),
                                       context))


def read_jsonl(path: str | Path, mapping: Mapping, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
    """The batches of the JSON-lines state log at `path` (one JSON object per line)."""
    source = str(path)
    encoding = encoding_of(path, mapping.encoding)
    yield from read_ahead(_jsonl_batches(mapping, source, line_blocks(path, encoding,
                                                                      _block_bytes(path, encoding, batch_rows))))


# -- CSV ----------------------------------------------------------------------------------------
def _csv_batches(mapping: Mapping, source: str, header: list[str], delimiter: str, blocks: Iterator,
                 context: str) -> Iterator[Batch]:
    """The blocks translated, on read_ahead's thread (the translator's DuckDB connection is made,
    used and closed there) while the caller's stores the batch before; the blocks themselves
    are read and decoded by one more thread ahead."""
    translator = Translator(mapping, CSV, header)
    try:
        for line, block in read_ahead(blocks):
            if block:
                yield _csv_batch(translator, source, header, delimiter, line, block, context)
    finally:
        translator.close()


def csv_context(header_line: str, delimiter: str, encoding: str) -> str:
    """What a dead letter of a CSV needs to be re-read alone: the header line and delimiter."""
    return json.dumps({"format": CSV, "header": header_line, "delimiter": delimiter, "encoding": encoding})


def csv_header(header_line: str, delimiter: str) -> list[str]:
    """The column names of a header line, usable as columns."""
    return _unique_names(next(csv.reader([header_line], delimiter=delimiter), []))


def _csv_batch(tr: Translator, source: str, header: list[str], delimiter: str, first_line: int, block: str,
               context: str | None = None) -> Batch:
    n_lines = block.count("\n") + (0 if block.endswith("\n") else 1)
    invalid = []
    try:
        table = pacsv.read_csv(
            io.BytesIO(block.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=header, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=lambda row: invalid.append(row) or "skip"),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        table = None
    if table is not None and not invalid and table.num_rows == n_lines:
        table = table.append_column("_line", pa.array(np.arange(first_line, first_line + n_lines, dtype=np.int64)))
        lines = None

        def raw(n: int) -> str:
            nonlocal lines
            lines = lines or block.split("\n")
            return lines[n - first_line]
        rejected = []
    else:
        table, raws, rejected = _csv_rows(header, delimiter, first_line, block)
        raw = raws.__getitem__
    batch, bad = tr.translate(table)
    rows = [(source, f"line {line}", raw(line), reason) for line, reason in bad] + \
           [(source, f"line {line}", text, reason) for line, text, reason in rejected]
    rows.sort(key=lambda r: int(r[1][5:]))
    return _with_dead_letters(batch, rows, context)


def _csv_rows(header: list[str], delimiter: str, first_line: int, block: str):
    """The slow path: records with their exact lines and raw text, and malformed ones rejected."""
    lines = block.split("\n")
    reader = csv.reader(io.StringIO(block), delimiter=delimiter, strict=False)
    columns: list[list[str]] = [[] for _ in header]
    numbers, raws, rejected = [], {}, []
    done = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = first_line + reader.line_num - 1
            rejected.append((line, "\n".join(lines[done:reader.line_num]), f"not readable as CSV ({exc})"))
            done = reader.line_num
            continue
        line = first_line + done
        text = "\n".join(lines[done:reader.line_num])
        done = reader.line_num
        if not record or record == [""]:
            continue
        if len(record) != len(header):
            fields = "field" if len(record) == 1 else "fields"
            rejected.append((line, text, f"{len(record)} {fields} where the header has {len(header)} "
                                         "(truncated or malformed line)"))
            continue
        numbers.append(line)
        raws[line] = text
        for col, value in zip(columns, record):
            col.append(value)
    table = pa.table({**{h: pa.array(c, pa.string()) for h, c in zip(header, columns)},
                      "_line": pa.array(numbers, pa.int64())})
    return table, raws, rejected


# -- JSONL --------------------------------------------------------------------------------------
def _jsonl_batches(mapping: Mapping, source: str, blocks: Iterator) -> Iterator[Batch]:
    """As _csv_batches: translated on read_ahead's thread, the blocks read by one more ahead."""
    translator = Translator(mapping, JSONL)
    try:
        for first_line, block in read_ahead(blocks):
            yield _jsonl_batch(translator, source, _jsonl_lines(first_line, block))
    finally:
        translator.close()


def _jsonl_lines(first_line: int, block: str) -> pa.Table:
    lines = pc.list_flatten(pc.split_pattern(pa.array([block], pa.string()), "\n"))
    if block.endswith("\n"):
        lines = lines.slice(0, len(lines) - 1)
    return pa.table({"_line": pa.array(np.arange(first_line, first_line + len(lines), dtype=np.int64)),
                     "_raw": lines})


def _jsonl_batch(tr: Translator, source: str, src: pa.Table) -> Batch:
    batch, bad = tr.translate(src)
    raws = {}
    if bad:
        picked = src.filter(pc.is_in(src["_line"], pa.array([b[0] for b in bad], pa.int64())))
        raws = dict(zip(picked["_line"].to_pylist(), picked["_raw"].to_pylist()))
    return _with_dead_letters(batch, [(source, f"line {n}", raws[n], reason) for n, reason in bad], JSONL_CONTEXT)


# -- shared -------------------------------------------------------------------------------------
def _with_dead_letters(batch: Batch, rows: list, context: str | None = None) -> Batch:
    if not rows:
        return batch
    return Batch(**{**{k: getattr(batch, k) for k in ("event", "object", "object_change", "event_object",
                                                          "object_object", "span")},
                    "dead_letter": dead_letters(rows, context)})


def _resolve(mapping: Mapping | None, header: list[str], source: str) -> Mapping:
    if mapping is None:
        if not is_pm4py_log(header):
            raise UnreadableSource(
                f"{source}: no mapping given and the columns do not follow the pm4py convention "
                f"(case:concept:name, concept:name, time:timestamp); found: {', '.join(header[:20])}. "
                "Give a mapping (docs/mappings.md).")
        return pm4py_mapping(Path(source).stem, header)
    missing = [c for c in mapping.columns() if c not in header]
    if missing:
        raise UnreadableSource(
            f"{source}: column(s) {', '.join(missing)} named by mapping {mapping.path or '(built-in)'} "
            f"not in the header; columns: {', '.join(header[:30])}")
    return mapping


def _unique_names(header: list[str]) -> list[str]:
    """Header names usable as columns: an empty name becomes column_<n>, a repeated one name_<n>."""
    out, seen = [], set()
    for i, h in enumerate(header, 1):
        name = h or f"column_{i}"
        if name in seen:
            name = f"{name}_{i}"
        seen.add(name)
        out.append(name)
    return out


def _block_bytes(path: str | Path, encoding: str, batch_rows: int) -> int:
    """Bytes per block so that a block holds about `batch_rows` lines."""
    with open(path, "rb") as f:
        sample = f.read(SNIFF_CHARS)
    lines = max(sample.count(b"\n"), 1)
    return max(4096, int(len(sample) / lines * batch_rows))


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest
