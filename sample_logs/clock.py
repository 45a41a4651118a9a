"""Time: the simulated year, local time in each facility's zone, and business-hours sampling.

All times inside the simulator are int64 milliseconds since the Unix epoch, UTC. Zone offsets
come from a per-hour table (DST changes on hour boundaries in the zones used), so converting
millions of instants to local time is one array lookup.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

YEAR_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
DAYS = 365
MS_HOUR = 3_600_000
MS_DAY = 24 * MS_HOUR
MINUTE = 60_000
START_MS = int(YEAR_START.timestamp() * 1000)
# the offset table covers supplier history before the year and payments after it
_TABLE_FROM = START_MS - 800 * MS_DAY
_TABLE_HOURS = (800 + DAYS + 400) * 24


class Zones:
    """UTC offsets (ms) of a tuple of IANA zones, looked up per hour."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        table = np.empty((len(names), _TABLE_HOURS), np.int64)
        for z, name in enumerate(names):
            zone = ZoneInfo(name)
            # offsets change rarely: compute per day, then fix the two change days per year by hour
            base = datetime.fromtimestamp(_TABLE_FROM / 1000, timezone.utc)
            days = [int(zone.utcoffset((base + timedelta(days=d)).replace(tzinfo=None))
                        .total_seconds() * 1000) for d in range(_TABLE_HOURS // 24)]
            row = np.repeat(np.array(days, np.int64), 24)
            for d in np.flatnonzero(np.diff(days)):
                for h in range(48):
                    i = int(d) * 24 + h
                    t = base + timedelta(hours=i)
                    row[i] = int(t.astimezone(zone).utcoffset().total_seconds() * 1000)
            table[z] = row
        self.table = table

    def offset(self, zone: np.ndarray | int, t: np.ndarray) -> np.ndarray:
        """UTC offset in ms of each instant `t` in its zone index `zone`."""
        hour = np.clip((t - _TABLE_FROM) // MS_HOUR, 0, _TABLE_HOURS - 1)
        return self.table[zone, hour]

    def local(self, zone, t: np.ndarray) -> np.ndarray:
        """Wall-clock time as ms (a naive local timestamp)."""
        return t + self.offset(zone, t)

    def from_local(self, zone, local: np.ndarray) -> np.ndarray:
        """UTC instants of naive local times (ambiguous hours resolve to standard time)."""
        guess = local - self.offset(zone, local)
        return local - self.offset(zone, guess)


def business_time(rng: np.random.Generator, zones: Zones, zone: np.ndarray,
                  day_from: int = 0, day_to: int = DAYS) -> np.ndarray:
    """Instants on weekdays (weekends rarely) mostly between 7:00 and 18:00 local time."""
    n = len(zone)
    day = rng.integers(day_from, day_to, n)
    weekday = (day + YEAR_START.weekday()) % 7
    weekend = weekday >= 5
    # hospitals buy on weekends too, but less: move most weekend draws to the next Monday
    move = weekend & (rng.random(n) < 0.8)
    day = np.where(move, day + (7 - weekday), day)
    hour = np.where(rng.random(n) < 0.9, rng.normal(11.5, 2.6, n).clip(7, 18.5), rng.uniform(0, 24, n))
    local = START_MS + day * MS_DAY + (hour * MS_HOUR).astype(np.int64)
    return zones.from_local(zone, local)


def next_business_moment(zones: Zones, zone, t: np.ndarray) -> np.ndarray:
    """`t` if it falls in local business hours (Mon-Fri 7-18), else the next 8:00ish opening."""
    local = zones.local(zone, t)
    day = (local - START_MS) // MS_DAY
    hour = (local - START_MS - day * MS_DAY) / MS_HOUR
    weekday = (day + YEAR_START.weekday()) % 7
    open_now = (weekday < 5) & (hour >= 7) & (hour < 18)
    next_day = np.where(hour < 7, day, day + 1)
    nwd = (next_day + YEAR_START.weekday()) % 7
    next_day = next_day + np.where(nwd == 5, 2, np.where(nwd == 6, 1, 0))
    opening = START_MS + next_day * MS_DAY + 8 * MS_HOUR + (t % (47 * MINUTE))
    return np.where(open_now, t, zones.from_local(zone, opening))


def in_business_hours(zones: Zones, zone, t: np.ndarray) -> np.ndarray:
    local = zones.local(zone, t)
    day = (local - START_MS) // MS_DAY
    hour = (local - START_MS - day * MS_DAY) // MS_HOUR
    weekday = (day + YEAR_START.weekday()) % 7
    return (weekday < 5) & (hour >= 8) & (hour < 18)


def strftime(ms: np.ndarray, fmt: str) -> pa.Array:
    """Format naive ms timestamps (UTC or local wall clock) with a strftime pattern, whole seconds."""
    return pc.strftime(pa.array(ms // 1000, pa.timestamp("s")), format=fmt)


def iso_with_offset(local_ms: np.ndarray, offset_ms: np.ndarray) -> pa.Array:
    """ISO 8601 local time with its UTC offset, e.g. 2025-03-04T09:12:33-06:00."""
    minutes = offset_ms // MINUTE
    sign = np.where(minutes < 0, "-", "+")
    hh = pc.utf8_lpad(pc.cast(pa.array(np.abs(minutes) // 60), pa.string()), 2, "0")
    mm = pc.utf8_lpad(pc.cast(pa.array(np.abs(minutes) % 60), pa.string()), 2, "0")
    return pc.binary_join_element_wise(strftime(local_ms, "%Y-%m-%dT%H:%M:%S"), pa.array(sign),
                                       hh, ":", mm, "")


def iso_utc_millis(ms: np.ndarray) -> pa.Array:
    """ISO 8601 UTC with milliseconds and Z, e.g. 2025-03-04T15:12:33.120Z."""
    frac = pc.utf8_lpad(pc.cast(pa.array(ms % 1000), pa.string()), 3, "0")
    return pc.binary_join_element_wise(strftime(ms, "%Y-%m-%dT%H:%M:%S"), ".", frac, "Z", "")


def day_string(ms: np.ndarray, fmt: str = "%Y-%m-%d") -> pa.Array:
    return strftime(ms, fmt)
