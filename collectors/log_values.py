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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from models.batches import TS
from models.vocabulary import TIMESTAMP_OUTLIER

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)
NO_FLAGS: list[str] = []
ISO_WIDTH = 32     # the longest time `iso_times` reads: 19 + '.' and 6 digits + '+HH:MM'
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int32)
_DAYS_BEFORE = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], np.int32)
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


def iso_times(stamp: pa.Array, zone: str) -> tuple[pa.Array, np.ndarray]:
    """The texts of `stamp` written `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|+HH:MM|-HH:MM]` with a
    valid date and time, as naive UTC (vectorised; each distinct text read once), and which
    texts were left unread (`left`: other forms, impossible dates, and times without offset
    when `zone` is not UTC) for Clock.utc or an exact parser like it. Times read here equal
    what Clock.utc makes of them; nulls are neither read nor left."""
    codes = pc.dictionary_encode(stamp)
    micros, read = _iso_micros(codes.dictionary, zone == "UTC")
    index = pc.fill_null(codes.indices, 0).to_numpy()
    valid = stamp.is_valid().to_numpy(zero_copy_only=False)
    done = read[index] & valid if len(read) else np.zeros(len(stamp), bool)
    ts = pa.array(micros[index] if len(read) else np.zeros(len(stamp), np.int64), pa.int64(), mask=~done)
    return ts.cast(TS), valid & ~done


def _iso_micros(texts: pa.Array, naive_is_utc: bool) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since 1970 (UTC) of each text in the form `iso_times` reads, and which were."""
    n = len(texts)
    if texts.type != pa.string():
        texts = texts.cast(pa.string())
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    offsets = np.frombuffer(texts.buffers()[1], np.int32)[texts.offset:texts.offset + n + 1]
    buf = texts.buffers()[2]
    data = np.frombuffer(buf, np.uint8)[:offsets[-1]] if buf is not None else np.zeros(0, np.uint8)
    length = np.diff(offsets)
    ok = (length >= 19) & (length <= ISO_WIDTH)
    if texts.null_count:
        ok &= texts.is_valid().to_numpy(zero_copy_only=False)
    padded = np.concatenate([data, np.zeros(ISO_WIDTH, np.uint8)])
    positions = np.arange(ISO_WIDTH, dtype=np.int32)[:, None]
    col = padded[positions + np.where(ok, offsets[:-1], 0)]   # byte k of each text: row k
    col[positions >= length] = 0
    dig = col - np.uint8(48)          # digits become 0-9, every other byte more (uint8 wraps)

    def number(*at):
        v = np.zeros(n, np.int32)
        for k in at:
            v = v * 10 + dig[k]
        return v

    ok &= ((dig[[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]].max(axis=0) <= 9)
           & (col[4] == ord("-")) & (col[7] == ord("-")) & ((col[10] == ord("T")) | (col[10] == ord(" ")))
           & (col[13] == ord(":")) & (col[16] == ord(":")))
    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    hour, minute, second = number(11, 12), number(14, 15), number(17, 18)
    dot = col[19] == ord(".")          # a fraction: 1 to 6 digits
    micros, digits, going = np.zeros(n, np.int32), np.zeros(n, np.int32), dot
    for k in range(20, 27):
        going = going & (dig[k] <= 9)
        if k < 26:
            micros += np.where(going, dig[k].astype(np.int32) * 10 ** (25 - k), 0)
        digits += going
    ok &= ~dot | ((digits >= 1) & (digits <= 6))
    zone_at = np.where(dot, 20 + digits, 19)
    rest = length - zone_at
    rows = np.arange(n)
    sign, h1, h2, colon, m1, m2 = (col[np.minimum(zone_at + k, ISO_WIDTH - 1), rows] for k in range(6))
    zulu = (rest == 1) & (sign == ord("Z"))
    oh = (h1.astype(np.int32) - 48) * 10 + h2 - 48
    om = (m1.astype(np.int32) - 48) * 10 + m2 - 48
    offset = ((rest == 6) & ((sign == ord("+")) | (sign == ord("-"))) & (colon == ord(":"))
              & (np.minimum(np.minimum(h1, h2), np.minimum(m1, m2)) >= ord("0"))
              & (np.maximum(np.maximum(h1, h2), np.maximum(m1, m2)) <= ord("9")) & (oh <= 23) & (om <= 59))
    ok &= zulu | offset | ((rest == 0) & naive_is_utc)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month = np.where(ok, month, 0).clip(0, 12)
    # years 1 and 9999 are left to Clock.utc: an offset may carry them out of datetime's range
    ok &= ((year >= 2) & (year <= 9998) & (month >= 1) & (day >= 1)
           & (day <= _MONTH_DAYS[month] + (leap & (month == 2))) & (hour <= 23) & (minute <= 59) & (second <= 59))
    y = year.astype(np.int64) - 1     # days since 1970-01-01 of the proleptic Gregorian date:
    days = y * 365 + y // 4 - y // 100 + y // 400 - 719162 + _DAYS_BEFORE[month] + ((month > 2) & leap) + day - 1
    shift = np.where(offset, np.where(sign == ord("-"), -1, 1) * (oh * 60 + om), 0)
    us = (((days * 24 + hour) * 60 + minute - shift) * 60 + second) * 1_000_000 + micros
    return np.where(ok, us, 0), ok


def ts_array(values: list[datetime]) -> pa.Array:
    return pa.array(values, TS)
