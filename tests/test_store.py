from datetime import datetime

import duckdb
import pyarrow as pa
import pytest

from conftest import rebuilt
from models import health
from models.batches import Batch, dead_letters
from models.store import SCHEMA_VERSION, SchemaVersionError, StoreError, StoreLockedError, open_store


def _events(*ids: str) -> pa.Table:
    return pa.table({
        "event_id": list(ids),
        "activity": ["Create Purchase Order"] * len(ids),
        "ts": [datetime(2026, 3, 1, 9, 30)] * len(ids),
        "source_system": ["erp"] * len(ids),
        "source_order": list(range(len(ids))),
    })


def _batch() -> Batch:
    return Batch(
        event=_events("erp:1", "erp:2", "erp:2"),
        object=pa.table({"object_id": ["PO-1"], "object_type": ["purchase_order"]}),
        event_object=pa.table({"event_id": ["erp:1", "erp:2"], "object_id": ["PO-1", "PO-1"]}),
        dead_letter=dead_letters([("erp.csv", "line 4", "x;;", "no timestamp in column changed_on")]),
    )


def test_store_is_created_and_reopened_with_its_data(tmp_path):
    path = tmp_path / "nested" / "p2p.duckdb"
    store = open_store(path)
    store.ingest([_batch()], source="erp.csv", kind="state_log")
    store.close()

    reopened = open_store(path)
    counts = health.counts(reopened.cursor())
    reopened.close()
    assert (counts["events"], counts["objects"], counts["event_objects"], counts["dead_letters"],
            counts["batches"]) == (2, 1, 2, 1, 1)


def test_store_of_another_schema_version_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "old.duckdb"
    open_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE schema_info SET version = 99")
    con.close()

    with pytest.raises(SchemaVersionError) as err:
        open_store(path)
    assert f"schema version 99; this version reads schema version {SCHEMA_VERSION}" in str(err.value)
    assert str(path) in str(err.value)


def test_a_database_that_is_not_a_store_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    with pytest.raises(SchemaVersionError, match="not a P2P Observatory store"):
        open_store(path)


def _memory_limit(con) -> str:
    return con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]


def _bytes(setting: str) -> float:
    number, unit = setting.split()
    return float(number) * 1024 ** ("KiB", "MiB", "GiB", "TiB").index(unit) * 1024


def test_a_store_holds_about_half_the_machines_memory_and_takes_another_limit_when_told(tmp_path):
    # DuckDB's own default (80% of memory) let a 1M-order import be killed by the kernel
    duckdb_default = _bytes(_memory_limit(duckdb.connect()))
    store = open_store(tmp_path / "p2p.duckdb")
    assert _bytes(_memory_limit(store.cursor())) == pytest.approx(0.6 * duckdb_default, rel=0.02)
    store.close()

    store = open_store(tmp_path / "p2p.duckdb", memory_limit="300MB")
    assert _bytes(_memory_limit(store.cursor())) == pytest.approx(300e6, rel=0.01)
    store.close()


def test_a_memory_limit_that_is_no_size_is_refused_by_name(tmp_path):
    with pytest.raises(StoreError, match="memory limit 'lots'"):
        open_store(tmp_path / "p2p.duckdb", memory_limit="lots")


def test_a_store_held_by_another_process_is_refused_with_advice(tmp_path):
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "held.duckdb"
    open_store(path).close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("held", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError, match="held by another process"):
            open_store(path)
    finally:
        holder.communicate("")


def test_loading_the_same_batch_twice_changes_no_count(store):
    first = store.ingest([_batch()], source="erp.csv", kind="state_log")
    before = health.counts(store.cursor())
    second = store.ingest([_batch()], source="erp.csv", kind="state_log")
    after = health.counts(store.cursor())

    assert (first.accepted, first.duplicates, first.rejected) == (2, 1, 1)
    assert (second.accepted, second.duplicates) == (0, 3)
    assert {k: v for k, v in after.items() if k != "batches"} == \
           {k: v for k, v in before.items() if k != "batches"}
    assert after["batches"] == before["batches"] + 1   # the second load is still on record


def test_an_attribute_change_repeated_in_a_batch_is_stored_once(store):
    changes = pa.table({"object_id": ["PO-1", "PO-1", "PO-1"],
                        "ts": [datetime(2026, 3, 1, 9, 30)] * 2 + [datetime(2026, 3, 2, 9, 30)],
                        "attribute": ["total"] * 3, "value": ["10", "10", "12"]})
    store.ingest([Batch(object_change=changes)], source="erp.csv", kind="state_log")
    store.ingest([Batch(object_change=changes)], source="erp.csv", kind="state_log")
    assert store.cursor().sql("SELECT ts, value FROM object_change ORDER BY ts").fetchall() == [
        (datetime(2026, 3, 1, 9, 30), "10"), (datetime(2026, 3, 2, 9, 30), "12")]


def test_records_a_first_load_brings_again_in_a_later_batch_are_stored_once(store):
    changes = pa.table({"object_id": ["PO-1"], "ts": [datetime(2026, 3, 1, 9, 30)], "attribute": ["total"],
                        "value": ["10"]})
    relations = pa.table({"event_id": ["erp:1"], "object_id": ["PO-1"]})
    first = Batch(event=_events("erp:1", "erp:2"), object_change=changes, event_object=relations)
    again = Batch(event=_events("erp:3", "erp:1"), object_change=changes, event_object=relations)
    result = store.ingest([first, again], source="erp.csv", kind="state_log")
    assert (result.accepted, result.duplicates) == (3, 1)
    assert [store.cursor().sql(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("event", "object_change", "event_object")] == [3, 1, 1]


def test_a_load_that_fails_midway_leaves_the_store_as_it_was(store):
    def batches():
        yield Batch(event=_events("erp:1", "erp:2"))
        raise OSError("disk read error at byte 4096")

    with pytest.raises(OSError):
        store.ingest(batches(), source="erp.csv", kind="state_log")
    counts = health.counts(store.cursor())
    assert (counts["events"], counts["batches"]) == (0, 0)


def test_every_load_is_on_record_with_its_counts(store):
    store.ingest([_batch()], source="erp.csv", kind="state_log", mapping="mappings/erp.toml")
    row = health.ingest_batches(store.cursor()).to_pylist()[0]
    assert {k: row[k] for k in ("seq", "source", "kind", "mapping", "accepted", "duplicates", "rejected")} == {
        "seq": 1, "source": "erp.csv", "kind": "state_log", "mapping": "mappings/erp.toml",
        "accepted": 2, "duplicates": 1, "rejected": 1,
    }
    assert store.data_version() == 1


def test_a_refresh_cut_short_is_finished_when_the_store_is_opened_again(tmp_path, monkeypatch):
    import models.store
    from models import mining, sync_lag, vocabulary as v

    path = tmp_path / "p2p.duckdb"
    store = open_store(path)
    span = pa.table({"trace_id": ["a" * 32], "span_id": ["b" * 16], "name": ["PUT /ap/po"], "kind": ["CLIENT"],
                     "start_time": [datetime(2026, 3, 1, 9, 31)], "end_time": [datetime(2026, 3, 1, 9, 32)],
                     "attributes": [f'{{"{v.EVENT_ID}": "erp:1", "{v.TARGET_SYSTEM}": "{v.AP}"}}']})
    with store.load("otlp", "otlp", derive=False) as load:   # as the write queue commits
        load.write(Batch(event=_batch().event, object=_batch().object, event_object=_batch().event_object,
                         span=span))
    assert store.data_version() == 0      # committed, not yet derived: pages keep what they show

    def power_cut(con, first, last):
        raise RuntimeError("power cut")

    monkeypatch.setattr(models.store, "REFRESHES", (mining.refresh, power_cut))
    with pytest.raises(RuntimeError):
        store.catch_up()                  # the refresh's transaction is lost, as with kill -9
    assert store.cursor().sql("SELECT count(*) FROM case_event").fetchall() == [(0,)]
    store.close()
    monkeypatch.undo()

    store = open_store(path)
    try:
        con = store.cursor()
        assert store.data_version() == 1
        assert con.sql("SELECT case_id, position, event_id FROM case_event ORDER BY position").fetchall() == [
            ("PO-1", 1, "erp:1"), ("PO-1", 2, "erp:2")]
        hops = sync_lag.hops(con).select(["event_id", "target_system", "lag_s"]).to_pylist()
        assert hops == [{"event_id": "erp:1", "target_system": v.AP, "lag_s": 120.0}]   # 09:30 -> 09:32
    finally:
        store.close()


# The tables of a version 1 store (the first release): records, and three derived tables.
VERSION_1_TABLES = {"schema_info", "ingest_batch", "event", "object", "object_change", "event_object",
                    "object_object", "span", "dead_letter", "case_event", "case_variant", "sync_hop"}


def _content(con, tables) -> dict:
    return {t: sorted(con.sql(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def _copy(store, path):
    """A copy of `store`'s file at `path`, opened with plain DuckDB to age it."""
    store.cursor().execute("CHECKPOINT")
    path.write_bytes(open(store.path, "rb").read())
    return duckdb.connect(str(path))


def test_a_store_of_the_first_version_is_upgraded_when_opened_and_derives_as_a_new_one(network, tmp_path):
    store, _ = network
    old = tmp_path / "v1.duckdb"
    con = _copy(store, old)
    tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
    for table in tables - VERSION_1_TABLES:
        con.execute(f"DROP TABLE {table}")
    con.execute("DELETE FROM schema_info; INSERT INTO schema_info VALUES (1, now()::TIMESTAMP)")
    con.close()

    upgraded = open_store(old, read_only=True)   # a reader upgrades it too
    try:
        cur, expected = upgraded.cursor(), store.cursor()
        assert cur.sql("SELECT max(version) FROM schema_info").fetchall()[0][0] == SCHEMA_VERSION
        assert upgraded.data_version() == store.data_version() > 0
        derived = sorted(tables - VERSION_1_TABLES - {"derived_through"}) + ["case_event", "sync_hop"]
        assert derived and _content(cur, derived) == _content(expected, derived)
    finally:
        upgraded.close()


def test_a_store_of_version_3_gets_its_object_links_and_traffic_counts_when_opened_and_keeps_its_derived_tables(
        network, tmp_path):
    from models import audit, documents

    store, _ = network
    old = tmp_path / "v3.duckdb"
    con = _copy(store, old)
    con.execute("DROP TABLE object_link; DROP TABLE service_day; DROP TABLE case_coverage_count; "
                "DROP TABLE case_lookup")
    con.execute("DELETE FROM schema_info; INSERT INTO schema_info VALUES (3, now()::TIMESTAMP)")
    derived_at = con.sql("SELECT caught_up_at FROM derived_through").fetchall()
    con.close()

    upgraded = open_store(old)
    try:
        cur, expected = upgraded.cursor(), store.cursor()
        assert cur.sql("SELECT max(version) FROM schema_info").fetchall()[0][0] == SCHEMA_VERSION
        assert cur.sql("SELECT caught_up_at FROM derived_through").fetchall() == derived_at   # not derived again
        links = cur.sql("SELECT count(*) FROM object_link").fetchall()[0][0]
        assert links == 2 * expected.sql("SELECT count(*) FROM object_object").fetchall()[0][0] > 0
        kept = ["object_link", "service_day", "case_coverage_count", "case_lookup"]
        assert _content(cur, kept) == _content(expected, kept)
        po, invoice = cur.sql("SELECT min(po_id), min(invoice_id) FROM invoices WHERE po_id IS NOT NULL").fetchall()[0]
        supplier = cur.sql("SELECT min(supplier_id) FROM po_lines").fetchall()[0][0]
        for case in (po, invoice, supplier):
            assert audit.case_trail(cur, case) == audit.case_trail(expected, case)
        def read(con):
            return [documents.po_lines(con), documents.invoice_lines(con), documents.invoices(con)]
        assert rebuilt(cur, read, documents.rebuild, *documents.DERIVED) == read(expected)   # derived from the links
    finally:
        upgraded.close()


def test_a_table_missing_from_the_store_is_an_error_not_a_python_variable_of_that_name(tmp_path):
    store = open_store(tmp_path / "p2p.duckdb")
    try:
        match_exceptions = pa.table({"invoice_id": ["INV-1"]})   # noqa: F841 — what must not be read
        store.cursor().execute("DROP TABLE match_exceptions")
        with pytest.raises(duckdb.CatalogException, match="match_exceptions does not exist"):
            store.cursor().sql("SELECT * FROM match_exceptions").fetchall()
    finally:
        store.close()


def test_an_import_caught_up_on_the_way_derives_what_loads_derived_one_by_one_do(network, tmp_path, monkeypatch):
    from pathlib import Path

    from app import ingest

    store, _ = network
    monkeypatch.setattr(ingest, "CATCH_UP_RECORDS", 5_000)     # several catch-ups, each of a few sources
    other = open_store(tmp_path / "p2p.duckdb")
    try:
        summary = ingest.ingest(other, [Path(store.path).parent / "sim"])
        assert summary.ok and len(summary.files) > 3
        derived = ["case_event", "case_variant", "sync_hop", "po_lines", "invoices", "control_findings",
                   "service_day", "case_coverage_count", "event_lookup", "case_lookup"]
        assert _content(other.cursor(), derived) == _content(store.cursor(), derived)
    finally:
        other.close()


def test_a_store_of_version_7_drops_its_lookup_indexes_when_opened_and_finds_its_cases_as_before(network, tmp_path):
    from models import audit, cases

    store, _ = network
    old = tmp_path / "v7.duckdb"
    con = _copy(store, old)
    con.execute("CREATE INDEX event_lookup_key ON event_lookup (event_key); "
                "CREATE INDEX case_lookup_key ON case_lookup (case_key)")
    con.execute("DELETE FROM schema_info; INSERT INTO schema_info VALUES (7, now()::TIMESTAMP)")
    con.close()

    upgraded = open_store(old)
    try:
        cur, expected = upgraded.cursor(), store.cursor()
        assert cur.sql("SELECT max(version) FROM schema_info").fetchall()[0][0] == SCHEMA_VERSION
        assert cur.sql("SELECT count(*) FROM duckdb_indexes()").fetchall()[0][0] == 0
        invoice = cur.sql("SELECT min(invoice_id) FROM invoices").fetchall()[0][0]
        assert cases.find(cur, invoice.lower()).column("object_id").to_pylist() == [invoice]
        assert audit.case_trail(cur, invoice) == audit.case_trail(expected, invoice)
    finally:
        upgraded.close()


def test_a_load_does_not_hold_the_batches_it_wrote_until_it_commits(tmp_path):
    # a 17M-span import grew by each batch it wrote until the kernel killed it
    import gc

    store = open_store(tmp_path / "p2p.duckdb")
    held = []
    with store.load("big.csv", "state_log", derive=False) as load:
        for part in range(6):
            ids = [f"erp:{part}:{i}" for i in range(50_000)]
            events = _events(*ids)
            load.write(Batch(event=events))
            del events
            gc.collect()
            held.append(pa.total_allocated_bytes())
    store.close()
    assert load.result.accepted == 300_000
    assert held[-1] - held[0] < _events(*ids).nbytes    # less than one batch more after five more
