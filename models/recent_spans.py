"""The keys of the spans stored last, kept in memory by the store's one writer: a group of new
spans is checked for resends against them instead of searching the span table.

Exact, not a cache that may miss. Every stored span that started after `after` has its key here
(extra keys do no harm: a key found only sends its group to the store's own search). Keys are
kept as hashes of trace and span id (37 MB for 300,000 rather than 53 as strings): two spans
whose hashes are equal are searched for in the table like a resend. A new store's `after` is
None (nothing stored); a store opened with spans in it starts with its newest start time, so
what an earlier run stored is always searched for in the table. The oldest groups' keys are
forgotten first, and `after` moves on to the newest start time among them.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

# At 30,000 spans/s the last 10 s, so resends and exporters' batches in flight find their keys
# here; spans that started before are searched for in the table.
MAX_KEYS = 300_000


class RecentSpans:
    def __init__(self, after: datetime | None, max_keys: int | None = None):
        self.after = after
        self._keys: set[int] = set()
        self._groups: deque[tuple[int, datetime, set[int]]] = deque()   # (number, last start, keys)
        self._added = 0
        # Keys a later group added again (a resend, or the rare span id stored twice at different
        # times): forgetting the earlier group must keep them. Number of the latest such group.
        self._again: dict[int, int] = {}
        self._max_keys = max_keys or MAX_KEYS

    def new_keys(self, spans: pa.Table, first: datetime) -> set[int] | None:
        """The keys of `spans` (none started before `first`) if surely none is stored nor
        repeated among them; None when the store must be searched."""
        if self.after is not None and first <= self.after:
            return None
        keys = span_keys(spans)
        new = set(keys)
        if len(new) < len(keys) or not self._keys.isdisjoint(new):
            return None
        return new

    def add(self, keys: set[int], last: datetime) -> None:
        """Spans with these keys are stored (or about to be: a rolled-back group leaves only
        extra keys), the latest started at `last`."""
        self._added += 1
        for key in self._keys & keys:
            self._again[key] = self._added
        self._keys |= keys
        self._groups.append((self._added, last, keys))
        while len(self._keys) > self._max_keys and len(self._groups) > 1:
            number, last_forgotten, forgotten = self._groups.popleft()
            self._keys -= forgotten
            for key, latest in list(self._again.items()):
                if latest == number:
                    del self._again[key]
                elif key in forgotten:
                    self._keys.add(key)
            self.after = last_forgotten if self.after is None else max(self.after, last_forgotten)


def span_keys(spans: pa.Table) -> list[int]:
    """A span's key: the hash of its trace and span id."""
    ids = pc.binary_join_element_wise(spans.column("trace_id"), spans.column("span_id"), "/")
    return list(map(hash, ids.to_pylist()))
