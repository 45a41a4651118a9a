"""Numbers as finance and integration people read them: money, durations, shares."""

from __future__ import annotations

import math


def money(amount: float | None, currency: str = "$") -> str:
    """$1,234 below ten thousand; $12.3K, $4.56M above."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "–"
    sign, a = ("-" if amount < 0 else ""), abs(amount)
    if a >= 1e9:
        return f"{sign}{currency}{a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{sign}{currency}{a / 1e6:.2f}M"
    if a >= 1e4:
        return f"{sign}{currency}{a / 1e3:.1f}K"
    return f"{sign}{currency}{a:,.0f}"


def duration(seconds: float | None) -> str:
    """42 s, 3 min 20 s, 5 h 12 min, 3.4 days."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    s = abs(seconds)
    if s < 60:
        text = f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    elif s < 3600:
        text = f"{int(s // 60)} min {int(s % 60)} s" if s < 600 else f"{s / 60:.0f} min"
    elif s < 86400:
        text = f"{int(s // 3600)} h {int(s % 3600 // 60)} min"
    else:
        text = f"{s / 86400:.1f} days"
    return ("-" if seconds < 0 else "") + text


def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def kpi_value(value: float | None, unit: str) -> str:
    """A KPI value in its unit: 36.8 days, 88.8%, $5.5K, 4.2 h, 1.3 per invoice."""
    if value is None:
        return "–"
    if unit == "%":
        return share(value)
    if unit == "money":
        return money(value)
    if unit == "days":
        return f"{value:,.1f} days"
    if unit == "hours":
        return duration(value * 3600)
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.2f} {unit}"


def kpi_change(change: float | None, unit: str) -> str | None:
    """The change of a KPI, signed, in points for rates."""
    if change is None:
        return None
    if unit == "%":
        return f"{change * 100:+.1f} pts"
    if unit == "money":
        return ("+" if change >= 0 else "-") + money(abs(change))
    if unit == "hours":
        return ("+" if change >= 0 else "-") + duration(abs(change) * 3600)
    return f"{change:+,.1f}"


def unchanged(change: str | None) -> bool:
    """A formatted change that shows no change at all (+0.0 pts, +$0)."""
    return change is not None and not any(c in "123456789" for c in change)


def kpi_table(table, ids) -> list[dict]:
    """KPI rows (kpi, group, value, unit, name) as one row per group with a formatted column per
    KPI, in the order of `ids`: the grid an executive compares facilities or suppliers in."""
    rows: dict = {}
    names = {}
    for r in table.to_pylist():
        if r["kpi"] not in ids:
            continue
        names[r["kpi"]] = r["name"]
        rows.setdefault(r["group"], {})[r["kpi"]] = kpi_value(r["value"], r["unit"])
    columns = [i for i in ids if i in names]
    return [{"": group or "(none)", **{names[i]: values.get(i, "–") for i in columns}}
            for group, values in sorted(rows.items(), key=lambda kv: str(kv[0]))]


def with_case_links(table, column: str):
    """`table` with `column`'s ids as links to their case in the Case explorer (relative URLs,
    so they work wherever the dashboard is served)."""
    import pyarrow as pa

    links = pa.array([None if v is None else f"cases?case={v}" for v in table.column(column).to_pylist()])
    return table.set_column(table.column_names.index(column), column, links)
