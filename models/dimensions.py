"""The values a viewer can filter by, read from the store."""

from __future__ import annotations

from models import vocabulary as v
from models.queries import table


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
    row = table(con, "dimensions.period", outlier_flag=v.TIMESTAMP_OUTLIER).to_pylist()[0]
    return row["first_day"], row["last_day"]


def categories(con) -> dict[str, str]:
    """UNSPSC segment -> its title, for the segments ordered."""
    segments = table(con, "dimensions.categories", object_type=v.PO_LINE).column("category").to_pylist()
    return {s: v.UNSPSC_SEGMENTS.get(s, f"UNSPSC segment {s}") for s in segments}
