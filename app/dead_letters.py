"""Dead letters for `p2pobs deadletters` and the server's `/api/deadletters` routes alike:
listed, shown and replayed, as JSON-ready dicts.

A replay re-runs the letters through a corrected mapping as one load: the accepted letters are
marked replayed in the same transaction that stores their events; when nothing is accepted the
load rolls back, so a replay that fixes nothing changes no count.
"""

from __future__ import annotations

from pathlib import Path

from collectors.mappings import read_mapping
from collectors.replay import replay as replay_letters
from models import dead_letters
from models.dead_letters import DEFAULT_LIMIT
from models.store import Store

REPLAY = "replay"
LISTED = 100   # still-rejected letters named in the summary


def listing(store: Store, source: str | None = None, reason: str | None = None,
            include_replayed: bool = False, limit: int = DEFAULT_LIMIT) -> dict:
    """The letters (without raw text) and their groups by source and reason."""
    cur = store.cursor()
    groups = dead_letters.by_reason(cur, source, reason, include_replayed).to_pylist()
    letters = dead_letters.list_letters(cur, source, reason, include_replayed, limit).to_pylist()
    return {"total": sum(g["records"] for g in groups), "shown": len(letters),
            "letters": [_plain(x) for x in letters], "by_reason": groups}


def shown(store: Store, letter_id: str) -> dict:
    """One letter in full; LetterNotFound if no letter (or several) has that id or prefix."""
    return _plain(dead_letters.letter(store.cursor(), letter_id))


def _plain(row: dict) -> dict:
    return {k: v.isoformat(sep=" ") if hasattr(v, "isoformat") else v for k, v in row.items()}


class _NothingAccepted(Exception):
    """Rolls back a replay's load that accepted no letter."""


def replay(store: Store, mapping: str | Path, source: str | None = None) -> dict:
    """Replay the letters not yet replayed (of `source`, if given) through the mapping file
    `mapping`. MappingError if the file is not a valid mapping."""
    parsed = read_mapping(mapping)
    letters = dead_letters.to_replay(store.cursor(), source)
    run = replay_letters(letters, parsed)
    batch_id, new_rows = None, {}
    try:
        with store.load(REPLAY, REPLAY, mapping=str(mapping)) as load:
            for batch in run.batches():
                load.write(batch)
            if not run.accepted:
                raise _NothingAccepted
            load.mark_replayed(run.accepted)
        batch_id, new_rows = load.result.batch_id, load.result.counts
    except _NothingAccepted:
        pass
    by_id = {x["letter_id"]: x for x in letters}
    skipped: dict[str, int] = {}
    for reason in run.skipped.values():
        skipped[reason] = skipped.get(reason, 0) + 1
    return {
        "mapping": str(mapping), "source": source,
        "replayed": len(run.accepted) + len(run.rejected),
        "accepted": len(run.accepted),
        "still_rejected": len(run.rejected),
        "skipped": len(run.skipped),
        "batch_id": batch_id,
        "new_rows": new_rows,
        "rejected": [{"letter_id": i, "source": by_id[i]["source"], "position": by_id[i]["position"],
                      "reason": run.rejected[i]} for i in [i for i in by_id if i in run.rejected][:LISTED]],
        "skipped_reasons": [{"reason": r, "letters": n} for r, n in skipped.items()],
    }
