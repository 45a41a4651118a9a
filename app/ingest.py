"""Drive the collectors into the store: plan the sources, load each as one transaction.

Used by `p2pobs ingest`, `p2pobs demo` and the server's ingest endpoint alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from collectors.errors import MappingError, UnreadableSource
from collectors.sources import plan
from models.store import Store


# A refresh reads whole columns of the store, so one per source made an import of many small
# files cost as many reads of everything already loaded, and one over a whole large import
# derives everything in one transaction. Between the two (this does not yet bound memory: a
# 1M-order simulation was still killed at 24 GB in a catch-up at 9 GB of store):
CATCH_UP_RECORDS = 1_000_000


@dataclass
class IngestSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    files: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
                "files": self.files, "skipped": self.skipped, "errors": self.errors}


def ingest(store: Store, paths: list[str | Path], mapping: str | Path | None = None) -> IngestSummary:
    """Load every source under `paths`. A source that cannot be read is reported and left out;
    its load rolls back, so the store keeps nothing of it, and the other sources still land.

    Each source's records commit on their own; the derived tables catch up after the last, and
    on the way whenever CATCH_UP_RECORDS have been accepted since they last did."""
    summary = IngestSummary()
    planned = []
    for path in paths:   # one path that cannot be planned does not stop the others
        try:
            sources = plan([path], mapping)
        except (UnreadableSource, MappingError) as exc:
            summary.errors.append({"path": str(path), "error": str(exc)})
            continue
        planned.extend(sources)
        summary.skipped += [{"path": str(p), "reason": r} for p, r in sources.skipped]
    pending = 0
    for source in planned:
        if pending >= CATCH_UP_RECORDS:
            store.catch_up()
            pending = 0
        try:
            result = store.ingest(source.batches(), source=str(source.path), kind=source.kind,
                                  mapping=str(source.mapping) if source.mapping else None, derive=False)
        except UnreadableSource as exc:
            summary.errors.append({"path": str(source.path), "error": str(exc)})
            continue
        pending += result.accepted
        summary.accepted += result.accepted
        summary.duplicates += result.duplicates
        summary.rejected += result.rejected
        summary.files.append({"path": str(source.path), "kind": source.kind,
                              "mapping": str(source.mapping) if source.mapping else None,
                              "accepted": result.accepted, "duplicates": result.duplicates,
                              "rejected": result.rejected})
    store.catch_up()
    return summary
