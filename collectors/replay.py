"""Dead letters re-read through a (corrected) mapping: letters in, batches and verdicts out.

Pure: no store. Each letter (id, source, position "line N", raw text, context) is read by the
same path a first read of its file takes (`workflow_logs`), so a record accepted now gets the
event id, time and source order a good first ingest would have given it. The letters of one
source are read together: their raw records are laid one after another in a block, translated
at once, and the block's line numbers mapped back to the letters' own lines.

What a replay cannot re-read is *skipped*, not rejected: letters without a recorded context
(XES, OCEL and span dead letters, or letters stored before contexts were kept), letters in
another format than the mapping's, and CSV letters whose header lacks the mapping's columns.
Letters still rejected are reported with today's reason; the caller keeps them as they are.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from collectors.errors import MappingError
from collectors.mappings import Mapping
from collectors.translate import CSV, JSONL, Translator
from collectors.workflow_logs import BATCH_ROWS, _csv_batch, _jsonl_batch, csv_header
from models.batches import Batch

FORMATS = (CSV, JSONL)
_LINE = re.compile(r"^line (\d+)$")

NO_CONTEXT = ("no context recorded to re-read it: only CSV and JSON-lines state-log records "
              "can be replayed (not XES, OCEL or span records, nor letters stored before "
              "contexts were kept: re-ingest those files instead)")


@dataclass
class Replay:
    """A replay in progress: iterate `batches()`; then the verdict on every letter is known."""

    letters: list[dict]
    mapping: Mapping
    batch_rows: int = BATCH_ROWS
    accepted: list[str] = field(default_factory=list)          # letter ids whose record lands now
    rejected: dict[str, str] = field(default_factory=dict)     # letter id -> reason it still fails
    skipped: dict[str, str] = field(default_factory=dict)      # letter id -> why not re-read

    def batches(self) -> Iterator[Batch]:
        groups: dict[tuple, list[dict]] = {}
        for letter in self.letters:
            ctx = letter.get("context") or {}
            key = (letter["source"], ctx.get("format"), ctx.get("header"), ctx.get("delimiter"))
            groups.setdefault(key, []).append(letter)
        for (source, fmt, _, _), group in groups.items():
            why = self._not_replayable(fmt, group[0])
            if why:
                self.skipped.update((x["letter_id"], why) for x in group)
                continue
            lines = {}
            for x in group:
                m = _LINE.match(x["position"])
                if m:
                    lines[x["letter_id"]] = int(m.group(1))
                else:
                    self.skipped[x["letter_id"]] = f"position {x['position']!r} is not a line of a state log"
            group = [x for x in group if x["letter_id"] in lines]
            for start in range(0, len(group), self.batch_rows):
                chunk = group[start:start + self.batch_rows]
                if fmt == CSV:
                    batch = self._csv(source, group[0]["context"], chunk, lines)
                else:
                    batch = self._jsonl(source, chunk, lines)
                if batch is not None:
                    yield batch

    # -- which letters this mapping can read ----------------------------------------------------
    def _not_replayable(self, fmt: str | None, letter: dict) -> str | None:
        if fmt not in FORMATS:
            return NO_CONTEXT
        if self.mapping.format and self.mapping.format != fmt:
            return f"a {fmt} record; {self.mapping.path or 'the mapping'} reads {self.mapping.format}"
        if fmt == CSV:
            header = csv_header(letter["context"].get("header", ""), self._delimiter(letter["context"]))
            missing = [c for c in self.mapping.columns() if c not in header]
            if missing:
                return (f"column(s) {', '.join(missing)} named by the mapping are not in this file's "
                        f"header ({', '.join(header[:30])}): the mapping is for another source")
        return None

    def _delimiter(self, context: dict) -> str:
        return self.mapping.delimiter or context.get("delimiter") or ","

    # -- CSV ------------------------------------------------------------------------------------
    def _csv(self, source: str, context: dict, letters: list[dict], lines: dict[str, int]) -> Batch | None:
        delimiter = self._delimiter(context)
        header = csv_header(context.get("header", ""), delimiter)
        placed, texts = [], []
        for x in letters:
            why = _not_one_record(x["raw"], delimiter)
            if why:
                self.rejected[x["letter_id"]] = why
                continue
            placed.append(x)
            texts.append(x["raw"])
        if not placed:
            return None
        translator = Translator(self.mapping, CSV, header)
        try:
            block = "\n".join(texts) + "\n"
            batch = _csv_batch(translator, source, header, delimiter, 1, block)
        finally:
            translator.close()
        return self._verdicts(batch, placed, lines)

    # -- JSONL ----------------------------------------------------------------------------------
    def _jsonl(self, source: str, letters: list[dict], lines: dict[str, int]) -> Batch | None:
        raws = [x["raw"] for x in letters]
        src = pa.table({"_line": pa.array(np.arange(1, len(raws) + 1, dtype=np.int64)),
                        "_raw": pa.array(raws, pa.string())})
        translator = Translator(self.mapping, JSONL)
        try:
            batch = _jsonl_batch(translator, source, src)
        finally:
            translator.close()
        return self._verdicts(batch, letters, lines)

    # -- shared ---------------------------------------------------------------------------------
    def _verdicts(self, batch: Batch, placed: list[dict], lines: dict[str, int]) -> Batch:
        """Judge each letter laid in the block (one record each, from its block line on), and
        give the events their letters' own lines as source order."""
        block_line, end = {}, 1
        for x in placed:
            block_line[end] = x
            end += x["raw"].count("\n") + 1
        failed = {}
        if batch.dead_letter is not None:
            for position, reason in zip(batch.dead_letter["position"].to_pylist(),
                                        batch.dead_letter["reason"].to_pylist()):
                failed.setdefault(int(position[len("line "):]), reason)
        landed = set(batch.event["source_order"].to_pylist()) if batch.event is not None else set()
        for n, x in block_line.items():
            if n in failed:
                self.rejected[x["letter_id"]] = failed[n]
            elif n in landed:
                self.accepted.append(x["letter_id"])
            else:
                self.rejected[x["letter_id"]] = "no record in it (an empty line)"
        event = batch.event
        if event is not None and event.num_rows:
            own = np.zeros(end, dtype=np.int64)
            for b, x in block_line.items():
                own[b] = lines[x["letter_id"]]
            event = event.set_column(event.schema.get_field_index("source_order"), "source_order",
                                     pc.take(pa.array(own), event["source_order"]))
        return Batch(event=event, object=batch.object, object_change=batch.object_change,
                     event_object=batch.event_object, object_object=batch.object_object)


def replay(letters: Iterable[dict], mapping: Mapping, batch_rows: int = BATCH_ROWS) -> Replay:
    """Re-read `letters` (dicts with letter_id, source, position, raw and context) through
    `mapping`. Iterate the result's `batches()`; then `accepted`, `rejected` and `skipped`
    say what became of each letter. Still-rejected letters make no new dead letters."""
    if mapping.format and mapping.format not in FORMATS:
        raise MappingError(f"{mapping.path or 'the mapping'}: [source].format {mapping.format!r}: replay "
                           f"re-reads state-log records; accepted: {', '.join(FORMATS)} (or none)")
    return Replay(list(letters), mapping, batch_rows)


def _not_one_record(raw: str, delimiter: str) -> str | None:
    """Why `raw` cannot be laid in a block as one CSV record by itself (None if it can): an
    open quote would swallow the letters after it, and a block line must be one record."""
    if '"' not in raw and "\n" not in raw:
        return None
    try:
        records = [r for r in csv.reader(io.StringIO(raw), delimiter=delimiter, strict=True) if r]
    except csv.Error as exc:
        return f"not readable as CSV ({exc})"
    if len(records) != 1:
        return f"{len(records)} records in one dead letter, expected one"
    return None
