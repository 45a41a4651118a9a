"""The event store: one DuckDB file, one writer.

`Store` owns the database connection of its process. Writes go through `Store.load`, one
transaction per load (a file, an OTLP request), serialised by a lock: a load either lands whole
or leaves the store as it was. Readers take `Store.cursor()`, one per thread, and see committed
data only (DuckDB's MVCC), so a dashboard never waits on or fails because of a running load.
"""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from models import mining, sync_lag
from models.batches import REQUIRED, Batch, LoadResult
from models.queries import scalar, sql

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("schema.sql")

# Tables whose new rows count as accepted records (the rest are relations derived from them).
RECORD_TABLES = ("event", "span")


class StoreError(Exception):
    """A store that cannot be used as asked; the message says why and what to do."""


class SchemaVersionError(StoreError):
    pass


class StoreLockedError(StoreError):
    pass


class Store:
    def __init__(self, con: duckdb.DuckDBPyConnection, path: str):
        self.path = path
        self._con = con
        self._write = threading.Lock()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []   # to close them all on close()

    # -- reading -------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the store (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
            self._cursors.append(cur)
        return cur

    def data_version(self) -> int:
        """Grows with every committed load; caches key on it."""
        return scalar(self.cursor(), "store.data_version")

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def load(self, source: str, kind: str, mapping: str | None = None) -> Iterator["Load"]:
        """A transaction for one load: write batches into it; it commits when the block ends."""
        with self._write:
            cur = self._con.cursor()
            cur.begin()
            load = Load(cur, source=source, kind=kind, mapping=mapping)
            try:
                yield load
                load.finish()
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
            finally:
                cur.close()

    def ingest(self, batches, source: str, kind: str, mapping: str | None = None) -> LoadResult:
        """Load an iterable of `Batch`es as one load."""
        with self.load(source, kind, mapping) as load:
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

    def __init__(self, cur: duckdb.DuckDBPyConnection, *, source: str, kind: str, mapping: str | None):
        self._cur = cur
        self.source, self.kind, self.mapping = source, kind, mapping
        self.started_at = _utcnow()
        self.result = LoadResult(batch_id=new_batch_id(), source=source)

    def write(self, batch: Batch) -> None:
        for name, table in batch.tables().items():
            _check_required(name, table)
            self._cur.register("incoming", table)
            try:
                query = sql(f"load.insert_{name}")
                params = {k: v for k, v in (("batch_id", self.result.batch_id), ("mapping", self.mapping))
                          if f"${k}" in query}
                if "$lo" in query:   # the batch's start_time range, to prune the dedupe scan
                    bounds = pc.min_max(table.column("start_time"))
                    params.update(lo=bounds["min"].as_py(), hi=bounds["max"].as_py())
                inserted = self._cur.execute(query, params).fetchall()[0][0]
            finally:
                self._cur.unregister("incoming")
            self.result.counts[name] = self.result.counts.get(name, 0) + inserted
            if name in RECORD_TABLES:
                self.result.accepted += inserted
                self.result.duplicates += table.num_rows - inserted
            elif name == "dead_letter":
                self.result.rejected += table.num_rows

    def write_counted(self, batch: Batch) -> LoadResult:
        """`write`, returning what this batch alone added (for one submission of a group)."""
        before = LoadResult(self.result.batch_id, self.source, self.result.accepted,
                            self.result.duplicates, self.result.rejected, dict(self.result.counts))
        self.write(batch)
        r = self.result
        return LoadResult(r.batch_id, self.source, r.accepted - before.accepted,
                          r.duplicates - before.duplicates, r.rejected - before.rejected,
                          {k: v - before.counts.get(k, 0) for k, v in r.counts.items()})

    def mark_replayed(self, letter_ids: list[str]) -> int:
        """Mark the dead letters this load (a replay) accepted; they stay, for audit. How many."""
        if not letter_ids:
            return 0
        rows = self._cur.execute(sql("load.mark_replayed"), {
            "batch_id": self.result.batch_id, "letter_ids": list(letter_ids)}).fetchall()
        return rows[0][0] if rows else 0

    def finish(self) -> None:
        r = self.result
        mining.refresh(self._cur, r.batch_id)   # derived case tables, in the same transaction
        sync_lag.refresh(self._cur, r.batch_id)  # sync_hop for the traces and events it touched
        seq = scalar(self._cur, "load.next_seq")
        self._cur.execute(sql("load.record_batch"), {
            "batch_id": r.batch_id, "seq": seq, "source": self.source, "kind": self.kind,
            "mapping": self.mapping, "started_at": self.started_at,
            "accepted": r.accepted, "duplicates": r.duplicates, "rejected": r.rejected,
        })


def new_batch_id() -> str:
    """A load's id: nanoseconds then randomness, so ids sort in load order. Rows are appended
    in load order too, so DuckDB's zone maps let `WHERE batch_id = …` (every refresh at load)
    skip all but the newest row groups instead of scanning the whole table."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def open_store(path: str | Path, *, read_only: bool = False) -> Store:
    """Open (creating if needed) the store at `path`; ":memory:" for a throwaway one."""
    path = str(path)
    if path != ":memory:" and not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(
                f"{path} is held by another process (DuckDB lets one process open it). "
                "Commands reach a `p2pobs serve` / `dashboard` that owns this file by themselves; "
                "otherwise stop the process that holds it, or use another --db."
            ) from exc
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        _ensure_schema(con, path, read_only)
    except BaseException:
        con.close()
        raise
    return Store(con, path)


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
    has_info = con.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
    ).fetchall()[0][0]
    if has_info:
        found = scalar(con, "store.schema_version")
        if found != SCHEMA_VERSION:
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
    con.commit()


def _check_required(name: str, table: pa.Table) -> None:
    for column in REQUIRED[name]:
        nulls = table.column(column).null_count
        if nulls:
            raise ValueError(f"{name}.{column} has {nulls} null value(s); collectors must send "
                             "such records to dead_letter instead")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
