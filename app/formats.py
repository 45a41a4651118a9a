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
