"""Times and typed attribute values of event logs (XES, OCEL): text in, canonical value out.

Times become naive UTC datetimes (models.batches.TS); a time written without an offset is read
in the zone the mapping names (UTC by default). Attribute values keep their declared type and
are stored as JSON.
"""

from __future__ import annotations

import json
import math
import zoneinfo
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from models.batches import TS
from models.vocabulary import TIMESTAMP_OUTLIER

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)
NO_FLAGS: list[str] = []
OUTLIER_FLAGS = [TIMESTAMP_OUTLIER]


class Clock:
    """Parses times to naive UTC (cached: logs repeat the same stamps) and flags outliers:
    before 1990 or more than a year after the moment the log is read."""

    def __init__(self, zone: str = "UTC"):
        self.zone = None if zone == "UTC" else zoneinfo.ZoneInfo(zone)
        self.latest_plausible = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=365)
        self._cache: dict[str, datetime | None] = {}

    def utc(self, text) -> datetime | None:
        """`text` (ISO 8601, offset optional, 'Z' accepted) as naive UTC; None if not a time."""
        if isinstance(text, datetime):
            return self._to_utc(text)
        try:
            return self._cache[text]
        except KeyError:
            pass
        except TypeError:
            return None
        try:
            value = self._to_utc(datetime.fromisoformat(text.strip()))
        except (ValueError, AttributeError):
            value = None
        if len(self._cache) < 1_000_000:
            self._cache[text] = value
        return value

    def _to_utc(self, dt: datetime) -> datetime:
        if dt.tzinfo is None:
            if self.zone is None:
                return dt
            dt = dt.replace(tzinfo=self.zone)
        return dt.astimezone(timezone.utc).replace(tzinfo=None)

    def flags(self, ts: datetime) -> list[str]:
        return OUTLIER_FLAGS if ts < EARLIEST_PLAUSIBLE or ts > self.latest_plausible else NO_FLAGS

    def iso(self, text) -> str | None:
        """A time attribute's value as ISO 8601 UTC text ('...Z'), or None if not a time."""
        ts = self.utc(text)
        return None if ts is None else ts.isoformat() + "Z"


def typed(value, kind: str, clock: Clock):
    """`value` (text or a native value) as the JSON-able value of declared type `kind`
    (XES: string, int, float, boolean, date, id; OCEL: string, integer, float, boolean, time).
    A value that does not read as its type is kept as text rather than lost."""
    if value is None:
        return None
    try:
        if kind in ("int", "integer"):
            return int(value) if not isinstance(value, float) or value.is_integer() else value
        if kind in ("float", "double"):
            f = float(value)
            return f if math.isfinite(f) else str(value)
        if kind == "boolean":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("true", "1"):
                    return True
                if low in ("false", "0"):
                    return False
                return value
            return bool(value)
        if kind in ("date", "time", "timestamp"):
            return clock.iso(value) or str(value)
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (int, float, bool)) else str(value)


def as_json(attributes: dict) -> str:
    """Attributes as canonical JSON text (sorted keys, so every format of a log agrees)."""
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def ts_array(values: list[datetime]) -> pa.Array:
    return pa.array(values, TS)
