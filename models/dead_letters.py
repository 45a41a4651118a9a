"""Rejected records: which there are, one in full, and which a replay should re-read.

A dead letter stays after a replay accepted it (for audit), marked with the replay's batch id
in `replayed_in`; lists leave such letters out unless asked.
"""

from __future__ import annotations

import json

import pyarrow as pa

from models.queries import table as _table

DEFAULT_LIMIT = 100


class LetterNotFound(LookupError):
    """No dead letter, or more than one, has the id (or id prefix) asked for."""


def list_letters(con, source: str | None = None, reason: str | None = None,
                 include_replayed: bool = False, limit: int = DEFAULT_LIMIT) -> pa.Table:
    """Dead letters in source order, without their raw text. `source` matches a stored source or
    its trailing path ("erp.csv"); `reason` is text the reason contains."""
    return _table(con, "dead_letters.letters", source=source, reason=reason,
                  include_replayed=include_replayed, limit=limit)


def by_reason(con, source: str | None = None, reason: str | None = None,
              include_replayed: bool = False) -> pa.Table:
    """Dead letters grouped by source and reason, the most frequent first."""
    return _table(con, "dead_letters.by_reason", source=source, reason=reason,
                  include_replayed=include_replayed)


def letter(con, letter_id: str) -> dict:
    """One dead letter in full (raw text and context) by its id or a unique prefix of it."""
    rows = _table(con, "dead_letters.letter", letter_id=letter_id).to_pylist() if letter_id else []
    if len(rows) != 1:
        problem = "no dead letter has" if not rows else "more than one dead letter has"
        raise LetterNotFound(f"{problem} the id {letter_id!r}; `p2pobs deadletters list --all` "
                             "shows every letter's id (a unique prefix of it is enough)")
    row = rows[0]
    row["context"] = json.loads(row["context"]) if row["context"] else None
    return row


def to_replay(con, source: str | None = None) -> list[dict]:
    """The letters not yet replayed (of `source`, if given): id, source, position, raw, context."""
    rows = _table(con, "dead_letters.to_replay", source=source).to_pylist()
    for row in rows:
        row["context"] = json.loads(row["context"]) if row["context"] else None
    return rows
