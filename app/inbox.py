"""A watched folder: files dropped into it are ingested, then moved to `done/` or `failed/`.

Polling keeps it dependency-free and works on network shares. A file is taken only once its
size has stopped changing, so a copy in progress is never read half-written.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from app.ingest import ingest
from models.store import Store

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


async def watch_inbox(store: Store, inbox: Path) -> None:
    for sub in ("done", "failed"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    sizes: dict[Path, int] = {}
    while True:
        for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
            size = path.stat().st_size
            if sizes.get(path) != size:        # new or still growing: look again next round
                sizes[path] = size
                continue
            sizes.pop(path)
            summary = await run_in_threadpool(ingest, store, [path])
            target = inbox / ("done" if summary.ok else "failed") / path.name
            shutil.move(str(path), target)
            log.info("inbox: %s -> %s (%s)", path.name, target.parent.name, summary.as_dict())
        await asyncio.sleep(POLL_SECONDS)
