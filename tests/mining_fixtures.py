"""Flat logs as pm4py reads them, turned into a store: the case is an object of type "case".

Independent of the collectors on purpose: mining is checked against pm4py on the very frame
pm4py mines. Event ids are case + position in the file; source_order is the row's place in the
file, which is also how pm4py breaks ties of equal timestamps (a stable sort).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from models.batches import Batch
from models.vocabulary import CASE

CASE_KEY, ACTIVITY_KEY, TIMESTAMP_KEY = "case:concept:name", "concept:name", "time:timestamp"


def read_log(path: Path, timestamp_column: str | None = None) -> pd.DataFrame:
    """The log as pm4py reads it: XES by its iterparse reader, CSV through format_dataframe
    (zampino: case_id, activity and `timestamp_column`)."""
    import pm4py

    if ".xes" in path.name:
        return pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False)
    raw = pd.read_csv(path)
    if "case_id" in raw.columns:
        return pm4py.format_dataframe(raw, case_id="case_id", activity_key="activity",
                                      timestamp_key=timestamp_column)
    return pm4py.format_dataframe(raw, case_id=CASE_KEY, activity_key=ACTIVITY_KEY,
                                  timestamp_key=TIMESTAMP_KEY)


def batch_from_frame(df: pd.DataFrame, facility: str | None = None) -> Batch:
    """event / object / event_object tables of the frame, in file order."""
    cases = df[CASE_KEY].astype(str).reset_index(drop=True)
    position = cases.groupby(cases, sort=False).cumcount()
    event_ids = cases + "#" + position.astype(str)
    ts = pd.to_datetime(df[TIMESTAMP_KEY], utc=True).dt.tz_localize(None).astype("datetime64[us]")
    n = len(df)
    event = pa.table({
        "event_id": pa.array(event_ids.to_numpy(dtype=object), pa.string()),
        "activity": pa.array(df[ACTIVITY_KEY].astype(str).to_numpy(dtype=object), pa.string()),
        "ts": pa.array(ts.reset_index(drop=True)),
        "source_system": pa.array(["log"] * n, pa.string()),
        "facility": pa.array([facility] * n, pa.string()),
        "source_order": pa.array(df["@@index"] if "@@index" in df else range(n), pa.int64()),
    })
    distinct = cases.drop_duplicates().to_numpy(dtype=object)
    obj = pa.table({"object_id": pa.array(distinct, pa.string()),
                    "object_type": pa.array([CASE] * len(distinct), pa.string())})
    relation = pa.table({"event_id": event.column("event_id"),
                         "object_id": pa.array(cases.to_numpy(dtype=object), pa.string())})
    return Batch(event=event, object=obj, event_object=relation)
