"""The event store: one DuckDB file, one writer.

`Store` owns the database connection of its process. Writes go through `Store.load`, one
transaction per load (a file, an OTLP request), serialised by a lock: a load either lands whole
or leaves the store as it was. Readers take `Store.cursor()`, one per thread, and see committed
data only (DuckDB's MVCC), so a dashboard never waits on or fails because of a running load.

The derived tables (case_event, sync_hop, …) are kept by the functions in `REFRESHES`. A file
load refreshes them inside its own transaction; the write queue commits its records first and
derives them just behind (`Store.catch_up`, one refresh over every load since the last), so a
burst of OTLP requests costs one refresh, not one per commit. How far the derived tables have
got is kept in the store (derived_through), so a restart finishes what a crash left, and the
data version that pages cache on moves only when they have caught up.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from models import audit, cases, controls, dimensions, documents, health, kpis, mining, sync_lag
from models.batches import REQUIRED, Batch, LoadResult
from models.queries import bind, scalar, sql
from models.recent_spans import RecentSpans, span_keys

SCHEMA_VERSION = 8
# Versions whose stores differ from this one in derived tables only: opening one upgrades it.
UPGRADABLE_FROM = (1, 2, 3, 4, 5, 6, 7)
SCHEMA_FILE = Path(__file__).with_name("schema.sql")

# DuckDB's default memory limit (80% of the machine's or its container's memory) bounds its buffer
# manager only: a 1M-order import's catch-up was killed by the kernel at 24 GB resident of 24. With
# a limit of 6 GB the same catch-up spilled to <store>.tmp and peaked at 6.3 GB, barely slower.
# 60% of that default (about half the machine) leaves room for what DuckDB allocates beside its
# buffers and for the Python side (readers' batches, pages).
MEMORY_SHARE = 0.6

# Tables whose new rows count as accepted records (the rest are relations derived from them).
RECORD_TABLES = ("event", "span")

# Tables whose stored keys that clash with a batch are read first (load.stored_<table>), as
# their batches are new records far more often than not; the others dedupe in one statement.
# Value: whether keys repeated within the batch are looked for too (load.repeated_<table>);
# relations' inserts drop repeats themselves.
CLASH_CHECKED = {"event": True, "object_change": True, "event_object": False}

# What keeps each derived table: refresh(con, first_batch, last_batch) re-derives what the loads
# with batch ids in [first_batch, last_batch] touched, inside the caller's transaction. Batch ids
# are time-ordered, so `batch_id BETWEEN first AND last` lets zone maps skip older row groups.
# The objects those loads touched are found once, before them, in the temp table touched_object.
REFRESHES = (
    mining.refresh,     # case_event, case_variant for the objects the loads touched
    cases.refresh,      # case_lookup for those cases (reads case_event)
    sync_lag.refresh,   # sync_hop for the traces and events they touched
    documents.refresh,  # po_lines, receipts, invoices, invoice_lines
    dimensions.refresh, # dimension_value, event_daily for the events, suppliers, PO lines touched
    kpis.refresh,       # invoice_traceability for the invoice cases touched (reads case_event, sync_hop)
    controls.refresh,   # control_findings for the invoices documents.refresh re-derived
    health.refresh,     # span_p2p, case_coverage for the spans and cases touched (reads case_event, sync_hop)
    audit.refresh,      # event_lookup for the events and relations the loads brought
)


class StoreError(Exception):
    """A store that cannot be used as asked; the message says why and what to do."""


class SchemaVersionError(StoreError):
    pass


class _Outdated(Exception):
    """A store of an upgradable earlier version, opened read-only."""


class StoreLockedError(StoreError):
    pass


class Store:
    def __init__(self, con: duckdb.DuckDBPyConnection, path: str):
        self.path = path
        self._con = con
        self._write = threading.Lock()     # one load at a time
        self._derive = threading.Lock()    # one refresh of the derived tables at a time
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []   # to close them all on close()
        self._recent_spans: RecentSpans | None = None           # read on the first load

    # -- reading -------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the store (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
            self._cursors.append(cur)
        return cur

    def data_version(self) -> int:
        """The last load the derived tables include: it moves once a load is wholly derived,
        so a page cached on it never pairs new records with derived rows that lack them."""
        return scalar(self.cursor(), "store.data_version")

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def load(self, source: str, kind: str, mapping: str | None = None, *,
             derive: bool = True) -> Iterator["Load"]:
        """A transaction for one load: write batches into it; it commits when the block ends.

        With `derive`, the derived tables catch up inside the same transaction (with any loads
        still waiting for it), so when the block ends everything is derived. Without, only the
        records commit (durable once this returns); call `catch_up` to derive them."""
        with self._write, (self._derive if derive else nullcontext()):
            with self._transaction() as cur:
                if self._recent_spans is None:
                    self._recent_spans = RecentSpans(scalar(cur, "load.newest_span_start"))
                load = Load(cur, source=source, kind=kind, mapping=mapping, recent_spans=self._recent_spans)
                yield load
                load.finish()
                if derive:
                    _derive_pending(cur)

    def catch_up(self) -> int:
        """Derive every load committed without it (in one refresh); the data version reached."""
        with self._derive, self._transaction() as cur:
            return _derive_pending(cur)

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._con.cursor()
        cur.begin()
        try:
            yield cur
            cur.commit()
        except BaseException:
            cur.rollback()
            raise
        finally:
            cur.close()

    def ingest(self, batches, source: str, kind: str, mapping: str | None = None, *,
               derive: bool = True) -> LoadResult:
        """Load an iterable of `Batch`es as one load (`derive`: see `load`)."""
        with self.load(source, kind, mapping, derive=derive) as load:
            for batch in batches:
                load.write(batch)
        return load.result

    def close(self) -> None:
        for cur in self._cursors:
            cur.close()
        self._cursors.clear()
        self._con.close()


class Load:
    """One load in progress: deduplicates each batch against the store and counts."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, *, source: str, kind: str, mapping: str | None,
                 recent_spans: RecentSpans):
        self._cur = cur
        self._recent_spans = recent_spans
        self.source, self.kind, self.mapping = source, kind, mapping
        self.started_at = _utcnow()
        self.result = LoadResult(batch_id=new_batch_id(), source=source)
        # Per clash-checked table that held no rows when this load first wrote to it: the hashes
        # of the keys the load brought to it, sorted (None: the table held rows).
        self._written: dict[str, np.ndarray | None] = {}

    def write(self, batch: Batch) -> None:
        self.write_each([batch])

    def write_each(self, batches: list[Batch]) -> list[LoadResult]:
        """Write the batches of several submissions (a group commit); what each one added.

        Their spans go in as one insert, so the store is searched for already stored spans once
        per group rather than once per submission; a span sent twice within the group counts as
        accepted for the first submission that sent it."""
        results = [LoadResult(self.result.batch_id, self.source) for _ in batches]
        spans = []
        for batch, result in zip(batches, results):
            for name, table in batch.tables().items():
                _check_required(name, table)
                if name == "span":
                    spans.append((result, table))
                else:
                    _count(result, name, table, self._insert(name, table))
        if spans:
            for (result, table), inserted in zip(spans, self._insert_spans([t for _, t in spans])):
                _count(result, "span", table, inserted)
        for result in results:
            _add(self.result, result)
        return results

    def _insert(self, name: str, table: pa.Table) -> int:
        query = sql(f"load.insert_{name}")
        params = {"batch_id": self.result.batch_id, "mapping": self.mapping}
        if name == "object_change":    # the batch's time range: where its stored duplicates can be
            bounds = pc.min_max(table.column("ts"))
            params.update(lo=bounds["min"].as_py(), hi=bounds["max"].as_py())
        cur = self._cur
        incoming = _Incoming(cur, table)
        try:
            if name in CLASH_CHECKED and self._new_in_empty_table(name, incoming):
                # none stored nor repeated; relations' insert_new drops repeats, insert_unique not
                query = sql(f"load.insert_new_{name}" if CLASH_CHECKED[name] else f"load.insert_unique_{name}")
            elif name in CLASH_CHECKED:
                stored = incoming.run(sql(f"load.stored_{name}"), params).to_arrow_table()
                repeated = CLASH_CHECKED[name] and incoming.run(sql(f"load.repeated_{name}")).fetchall()[0][0]
                if not stored.num_rows and not repeated:
                    query = sql(f"load.insert_new_{name}")   # none stored nor repeated: the usual case
                cur.register("stored", stored)   # the clashes: few
            return incoming.run(query, params).fetchall()[0][0]
        finally:
            if name in CLASH_CHECKED:
                cur.unregister("stored")

    def _new_in_empty_table(self, name: str, incoming: _Incoming) -> bool:
        """Whether the batch staged as `incoming` neither repeats a key nor brings one this load
        wrote before, into a table that held no rows when the load first wrote to it: then
        nothing can clash and the table need not be searched (a first import; the search read
        every row the load had written so far). Keys are compared by hash: a collision only
        sends the batch through the search."""
        if name not in self._written:
            self._written[name] = None if scalar(self._cur, f"load.any_{name}") else np.zeros(0, np.uint64)
        written = self._written[name]
        if written is None:
            return False
        keys = np.sort(incoming.run(sql(f"load.key_hashes_{name}")).fetchnumpy()["h"])
        new = not (keys[1:] == keys[:-1]).any() and not _holds(written, keys)
        # two sorted runs: a stable sort merges them in one pass
        self._written[name] = np.sort(np.concatenate([written, keys]), kind="stable")
        return new

    def _insert_spans(self, tables: list[pa.Table]) -> list[int]:
        """Insert the spans of `tables` not yet stored; how many of each table's went in."""
        staged = _json_typed(pa.concat_tables(tables), SPAN_JSON_COLUMNS)
        staged = staged.append_column("submission", pa.array(
            [i for i, t in enumerate(tables) for _ in range(t.num_rows)], pa.int32()))
        bounds = pc.min_max(staged.column("start_time"))   # prunes the search of stored spans
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        # All new, the usual case, is mostly known from the keys of the spans stored last.
        new = self._recent_spans.new_keys(staged, lo)
        batch_id, cur = self.result.batch_id, self._cur
        incoming = _Incoming(cur, staged)
        if new is not None or not incoming.run(sql("load.span_clashes"), {"lo": lo, "hi": hi}).fetchall()[0][0]:
            incoming.run(sql("load.insert_spans"), {"batch_id": batch_id})
            inserted = [t.num_rows for t in tables]
        else:
            incoming.run(sql("load.stage_spans"), {"lo": lo, "hi": hi})
            cur.execute(sql("load.insert_staged_spans"), {"batch_id": batch_id})
            counts = dict(cur.sql(sql("load.staged_spans")).fetchall())
            cur.execute(sql("load.staged_spans_done"))
            inserted = [counts.get(i, 0) for i in range(len(tables))]
        self._recent_spans.add(set(span_keys(staged)) if new is None else new, hi)
        return inserted

    def mark_replayed(self, letter_ids: list[str]) -> int:
        """Mark the dead letters this load (a replay) accepted; they stay, for audit. How many."""
        if not letter_ids:
            return 0
        rows = self._cur.execute(sql("load.mark_replayed"), {
            "batch_id": self.result.batch_id, "letter_ids": list(letter_ids)}).fetchall()
        return rows[0][0] if rows else 0

    def finish(self) -> None:
        """Put the load on record (ingest_batch): what `catch_up` later derives from."""
        r = self.result
        self._cur.execute(sql("load.record_batch"), {
            "batch_id": r.batch_id, "source": self.source, "kind": self.kind,
            "mapping": self.mapping, "started_at": self.started_at,
            "accepted": r.accepted, "duplicates": r.duplicates, "rejected": r.rejected,
        })


def _holds(sorted_keys: np.ndarray, keys: np.ndarray) -> bool:
    """Whether any of `keys` is in `sorted_keys`."""
    at = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
    return bool(len(sorted_keys)) and bool((sorted_keys[at] == keys).any())


# The span columns stored as JSON. Collectors write them with their JSON encoder
# (collectors/spans.py), so they are handed to DuckDB typed as JSON: it then stores them as they
# are instead of parsing every one to check it (a fifth of the span insert's CPU).
SPAN_JSON_COLUMNS = ("attributes", "resource", "events", "links")


def _json_typed(table: pa.Table, columns) -> pa.Table:
    for name in columns:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(i).cast(pa.json_(pa.string())))
    return table


def _count(result: LoadResult, name: str, table: pa.Table, inserted: int) -> None:
    result.counts[name] = result.counts.get(name, 0) + inserted
    if name in RECORD_TABLES:
        result.accepted += inserted
        result.duplicates += table.num_rows - inserted
    elif name == "dead_letter":
        result.rejected += table.num_rows


def _add(total: LoadResult, part: LoadResult) -> None:
    total.accepted += part.accepted
    total.duplicates += part.duplicates
    total.rejected += part.rejected
    for name, n in part.counts.items():
        total.counts[name] = total.counts.get(name, 0) + n


def _derive_pending(cur) -> int:
    """Run every refresh over the loads recorded since the derived tables last caught up, and
    move the mark; the data version reached. Inside the caller's transaction."""
    done, first, last, through = cur.sql(sql("store.pending_loads")).fetchall()[0]
    if through is None:
        return done
    cur.execute(sql("store.touched_objects"), {"first": first, "last": last})   # read by the refreshes
    for refresh in REFRESHES:
        refresh(cur, first, last)
    cur.execute(sql("store.touched_objects_done"))
    cur.execute(sql("store.mark_derived"), {"seq": through, "at": _utcnow()})
    return through


_last_ns = 0
_ids = threading.Lock()


def new_batch_id() -> str:
    """A load's id: nanoseconds then randomness, so ids sort in load order (never backwards in
    this process, even if the clock is set back: a refresh finds loads by a range of ids). Rows
    are appended in load order too, so DuckDB's zone maps let `WHERE batch_id BETWEEN …` (every
    refresh) skip all but the newest row groups instead of scanning the whole table."""
    global _last_ns
    with _ids:
        _last_ns = max(time.time_ns(), _last_ns + 1)
        return f"{_last_ns:016x}{secrets.token_hex(8)}"


def open_store(path: str | Path, *, read_only: bool = False, memory_limit: str = "") -> Store:
    """Open (creating if needed) the store at `path`; ":memory:" for a throwaway one.
    `memory_limit`: what DuckDB may hold before it spills to disk beside the store, as DuckDB
    writes sizes (8GB, 500MiB); empty: MEMORY_SHARE of DuckDB's own default."""
    path = str(path)
    if path != ":memory:" and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        # No replacement scans: a table missing from the store is an error, never a Python
        # variable of the same name read instead.
        con = duckdb.connect(path, read_only=read_only, config={"python_enable_replacements": False})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(
                f"{path} is held by another process (DuckDB lets one process open it). "
                "Commands reach a `p2pobs serve` / `dashboard` that owns this file by themselves; "
                "otherwise stop the process that holds it, or use another --db."
            ) from exc
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        _limit_memory(con, memory_limit)
        _ensure_schema(con, path, read_only)
    except _Outdated:
        con.close()
        open_store(path, memory_limit=memory_limit).close()   # upgrades it
        return open_store(path, read_only=True, memory_limit=memory_limit)
    except BaseException:
        con.close()
        raise
    store = Store(con, path)
    if not read_only:
        # DuckDB checkpoints whenever its write-ahead log passes 16 MB; under a stream of OTLP
        # commits that is every few seconds, and each small checkpoint rewrites the row groups
        # still filling up. 256 MB halves the commit cost; the price is a longer log to replay
        # after a crash (seconds).
        con.execute(sql("store.checkpoint_less_often"))
        # A large load's rows are compressed and written as each row group fills (DuckDB waits
        # for 5 by default, so a load under 600k rows did it all at commit, after its reader).
        con.execute(sql("store.write_row_groups_early"))
        store.catch_up()   # what a crash left underived (nothing, usually: one small query)
    return store


def _limit_memory(con: duckdb.DuckDBPyConnection, memory_limit: str) -> None:
    if not memory_limit:
        number, unit = scalar(con, "store.memory_limit").split()   # "18.8 GiB"
        memory_limit = f"{float(number) * MEMORY_SHARE:.1f} {unit}"
    try:
        quoted = memory_limit.replace("'", "''")
        con.execute(f"SET memory_limit = '{quoted}'")   # SET takes no parameters
    except duckdb.Error as exc:
        raise StoreError(f"memory limit {memory_limit!r}: {exc}") from exc


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
    has_info = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
    ).fetchall()[0][0]
    if has_info:
        found = scalar(con, "store.schema_version")
        if found in UPGRADABLE_FROM:
            if read_only:
                raise _Outdated
            _upgrade(con, found)
        elif found != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{path} holds a P2P Observatory store of schema version {found}; this version "
                f"reads schema version {SCHEMA_VERSION}. Use a P2P Observatory release that "
                "matches it, or re-ingest the sources into a new --db."
            )
        return
    others = con.sql("SELECT count(*) FROM information_schema.tables").fetchall()[0][0]
    if others:
        raise SchemaVersionError(
            f"{path} is a DuckDB database but not a P2P Observatory store (no schema_info table). "
            "Point --db at a new file or an existing store."
        )
    if read_only:
        raise StoreError(f"{path} is empty and opened read-only: nothing to read yet.")
    con.begin()
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))
    con.execute(sql("store.record_version"), {"version": SCHEMA_VERSION})
    con.execute(sql("store.start_derived"))
    con.commit()


def _upgrade(con: duckdb.DuckDBPyConnection, found: int) -> None:
    """Bring a store of an earlier version up to this one: add the tables it lacks and fill
    object_link (version 4) from its O2O rows; below version 3, derive every derived table again
    from the records, as if each load had just landed, else count service_day (version 5),
    case_coverage_count (version 6) and case_lookup (version 7); drop the indexes of versions 5-7
    (schema.sql says why)."""
    con.begin()
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))   # CREATE TABLE IF NOT EXISTS …
    if found < 4:
        con.execute(sql("store.link_objects"))
    if found < 3:
        con.execute(sql("store.forget_derived"))
        con.execute(sql("store.start_derived"))
        _derive_pending(con)
    else:
        if found < 5:
            health.count_traffic(con)
        if found < 6:
            health.count_coverage(con)
        if found < 7:
            cases.rebuild(con)
    if found < 8:
        con.execute(sql("store.drop_indexes"))
    con.execute(sql("store.record_version"), {"version": SCHEMA_VERSION})
    con.commit()


class _Incoming:
    """A batch as the table `incoming` that a load's statements read: a relation over the Arrow
    table, named for the length of each statement. Registered instead, it stayed referenced by
    DuckDB until the transaction ended, so a load held every batch it wrote: a 17M-span file grew
    the import by 1 KB a span, outside DuckDB's memory limit, until the kernel killed it."""

    def __init__(self, cur, table: pa.Table):
        self._cur = cur
        self._relation = cur.from_arrow(table)

    def run(self, query: str, params: dict | None = None):
        """`query` (one or more statements) over the batch, parameters written in as literals (a
        relation's query takes none); statements that write have run when this returns, and
        the last one's result is returned."""
        params = params or {}
        query = re.sub(r"\$(\w+)\b", lambda m: _literal(params[m[1]]) if m[1] in params else m[0], query)
        for statement in self._cur.extract_statements(query):
            result = self._relation.query("incoming", statement.query)
        return result


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _check_required(name: str, table: pa.Table) -> None:
    for column in REQUIRED[name]:
        nulls = table.column(column).null_count
        if nulls:
            raise ValueError(f"{name}.{column} has {nulls} null value(s); collectors must send "
                             "such records to dead_letter instead")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
