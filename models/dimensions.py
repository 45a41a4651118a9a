"""The values a viewer can filter by, read from the store: facilities, suppliers, the period
and categories from small tables kept at load (`refresh`: dimension_value, event_daily),
departments from the documents."""

from __future__ import annotations

from models import vocabulary as v
from models.queries import execute, table

REFRESH_STEPS = ("refresh_categories", "refresh_touched_suppliers",
                 "refresh_forget_suppliers", "refresh_suppliers", "refresh_suppliers_done",
                 "refresh_forget_daily", "refresh_daily")


def refresh(con, first_batch: str | None = None, last_batch: str | None = None) -> None:
    """Keep dimension_value and event_daily for the loads with batch ids in [first_batch,
    last_batch] (None: every load), inside the caller's transaction (models/store.py), just
    after models/documents.py `refresh` (categories read the PO lines it derived)."""
    for step in REFRESH_STEPS:
        execute(con, f"dimensions.{step}", first=first_batch, last=last_batch,
                supplier_type=v.SUPPLIER, outlier_flag=v.TIMESTAMP_OUTLIER)


def facilities(con) -> list[str]:
    return table(con, "dimensions.facilities").column("facility").to_pylist()


def suppliers(con) -> dict[str, str]:
    """Supplier id -> current name."""
    rows = table(con, "dimensions.suppliers", supplier_type=v.SUPPLIER).to_pylist()
    return {r["supplier"]: r["name"] for r in rows}


def departments(con) -> list[str]:
    return table(con, "dimensions.departments").column("department").to_pylist()


def period(con) -> tuple:
    """First and last day with events, leaving out timestamps flagged as outliers."""
    row = table(con, "dimensions.period").to_pylist()[0]
    return row["first_day"], row["last_day"]


def categories(con) -> dict[str, str]:
    """UNSPSC segment -> its title, for the segments ordered."""
    segments = table(con, "dimensions.categories").column("category").to_pylist()
    return {s: v.UNSPSC_SEGMENTS.get(s, f"UNSPSC segment {s}") for s in segments}
