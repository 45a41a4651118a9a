"""How CLI commands in other shells find the server that owns a store.

While `serve` or `dashboard` runs, a small JSON file beside the database says where it listens;
`ingest` and `stats` for that database then send their work there instead of failing on
DuckDB's file lock.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path


def server_file(db: str) -> Path:
    return Path(db).with_name(Path(db).name + ".server.json")


@contextmanager
def announced(db: str, port: int):
    """Say, for as long as the block runs, that this process serves `db` on `port`."""
    path = server_file(db)
    path.write_text(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def running_server(db: str) -> str | None:
    """The URL of the server that owns `db`, if one is running."""
    try:
        info = json.loads(server_file(db).read_text())
        os.kill(info["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    return info["url"]
