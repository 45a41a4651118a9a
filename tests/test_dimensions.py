"""The filter bar's values: kept at load, so they follow later loads (a supplier renamed, a new
facility, an event flagged as a timestamp outlier left out of the period)."""

from datetime import date, datetime

import pyarrow as pa

from models import dimensions
from models.batches import Batch
from models.store import open_store
from models.vocabulary import SUPPLIER, TIMESTAMP_OUTLIER


def _events(rows) -> pa.Table:
    return pa.table({
        "event_id": [r[0] for r in rows], "activity": ["Create Purchase Order"] * len(rows),
        "ts": pa.array([r[1] for r in rows], pa.timestamp("us")), "source_system": ["erp"] * len(rows),
        "source_order": pa.array(range(len(rows)), pa.int64()), "facility": [r[2] for r in rows],
        "flags": pa.array([r[3] for r in rows], pa.list_(pa.string()))})


def test_filter_values_follow_each_load():
    store = open_store(":memory:")
    con = store.cursor()
    store.ingest([Batch(
        event=_events([("erp:1", datetime(2026, 3, 2, 8), "MHS-CHI", []),
                       ("erp:2", datetime(2031, 1, 1), "MHS-CHI", [TIMESTAMP_OUTLIER])]),
        object=pa.table({"object_id": ["SUP-1", "SUP-2"], "object_type": [SUPPLIER, SUPPLIER],
                         "attributes": ['{"name": "Zenith Surgical"}', None]}))],
        source="first", kind="state_log")
    assert dimensions.facilities(con) == ["MHS-CHI"]
    assert dimensions.suppliers(con) == {"SUP-2": "SUP-2", "SUP-1": "Zenith Surgical"}
    assert dimensions.period(con) == (date(2026, 3, 2), date(2026, 3, 2))

    store.ingest([Batch(
        event=_events([("erp:3", datetime(2026, 4, 1, 9), "MHS-STL", [])]),
        object_change=pa.table({"object_id": ["SUP-1"], "ts": pa.array([datetime(2026, 4, 1)], pa.timestamp("us")),
                                "attribute": ["name"], "value": ['"Acme Medical"']}))],
        source="second", kind="state_log")
    assert dimensions.facilities(con) == ["MHS-CHI", "MHS-STL"]
    assert dimensions.suppliers(con) == {"SUP-1": "Acme Medical", "SUP-2": "SUP-2"}
    assert dimensions.period(con) == (date(2026, 3, 2), date(2026, 4, 1))
    store.close()
