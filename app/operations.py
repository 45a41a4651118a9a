"""What `p2pobs` commands ask of a store, run here or by the server that owns it.

DuckDB lets one process open a store file for writing, and none other while it does. So while
`p2pobs serve` (or `dashboard`) holds a store, every command sends its operation to the server's
`POST /api/<operation>` and gets back exactly what it would have computed itself: parameters and
results are plain JSON both ways, and errors keep their exit status.
"""

from __future__ import annotations

import inspect
import json
from datetime import date
from pathlib import Path

from collectors.errors import MappingError
from models.conformance import ModelNotFound
from models.dead_letters import LetterNotFound
from models.exports import ExportError
from models.settings import Settings
from models.store import Store, StoreError, open_store

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3


class Refused(Exception):
    """An operation that cannot be done as asked; the message says why and what exists."""

    def __init__(self, message: str, exit_status: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_status = exit_status


# -- the operations: a store and plain parameters in, plain data out -----------------------------
def stats(store: Store) -> dict:
    from models import health

    return health.counts(store.cursor())


def ingest(store: Store, paths: list[str], mapping: str | None = None) -> dict:
    from app.ingest import ingest as ingest_paths

    return ingest_paths(store, paths, mapping).as_dict()


def deadletters_list(store: Store, source=None, reason=None, include_replayed=False, limit=100) -> dict:
    from app import dead_letters

    return dead_letters.listing(store, source, reason, include_replayed, limit)


def deadletters_show(store: Store, letter_id: str) -> dict:
    from app import dead_letters

    return dead_letters.shown(store, letter_id)


def deadletters_replay(store: Store, mapping: str, source: str | None = None) -> dict:
    from app import dead_letters

    return dead_letters.replay(store, mapping, source)


def mine(store: Store, what: str, object_type: str | None = None, top: int = 50,
         source: str = "variants", noise: float = 0.2, model: str = "reference"):
    from models import conformance, discovery, mining

    con = store.cursor()
    known = [t["object_type"] for t in mining.object_types(con).to_pylist()]
    if not known:
        raise Refused(f"{store.path} holds no cases yet: ingest some data first", EXIT_PARTIAL)
    object_type = object_type or ("invoice" if "invoice" in known else known[0])
    if object_type not in known:
        raise Refused(f"no cases of object type {object_type!r}; known: {', '.join(known)}")
    if what == "dfg":
        return mining.dfg(con, object_type).to_pylist()
    if what == "variants":
        return mining.variants(con, object_type).slice(0, top).to_pylist()
    if what == "discover":
        if source == "dfg":
            found = discovery.discover_from_dfg(mining.dfg(con, object_type, performance=False),
                                                mining.start_activities(con, object_type),
                                                mining.end_activities(con, object_type))
        else:
            found = discovery.discover_from_variants(mining.variants(con, object_type), noise)
        return {"object_type": object_type, "source": source, "noise_threshold": noise,
                **found.size(), "process_tree": str(found.tree),
                "petri_net_dot": discovery.petri_net_dot(found), "bpmn_dot": discovery.bpmn_dot(found)}
    if what == "conformance":
        result = conformance.check(con, object_type, model=model)
        return {**result, "by_variant": result["by_variant"].slice(0, top).to_pylist(),
                "deviations": result["deviations"].to_pylist()}
    raise Refused(f"cannot mine {what!r}; have: {', '.join(MINED)}")


MINED = ("dfg", "variants", "discover", "conformance")


def kpis(store: Store, by=None, period=None, since=None, until=None, facilities=(), kpi=None) -> list[dict]:
    from models import kpis as registry

    table = registry.kpis(store.cursor(), by=by, period=period, filters=_filters(since, until, facilities),
                          ids=kpi or None)
    return table.to_pylist()


def export(store: Store, format: str, out: str, object_type=None, since=None, until=None,
           facilities=()) -> dict:
    from models import exports

    return exports.export(store.cursor(), format, out, object_type=object_type,
                          filters=_filters(since, until, facilities))


def audit_pack(store: Store, object_id: str, out: str) -> dict:
    from models import exports

    return exports.write_audit_pack(store.cursor(), object_id, out)


def audit_controls(store: Store) -> dict:
    from models import exports

    return {name: table.to_pylist() for name, table in exports.controls(store.cursor()).items()}


# Operations that write; the rest open the store read-only when no server owns it.
WRITES = {"ingest": ingest, "deadletters_replay": deadletters_replay}
READS = {"stats": stats, "deadletters_list": deadletters_list, "deadletters_show": deadletters_show,
         "mine": mine, "kpis": kpis, "export": export, "audit_pack": audit_pack,
         "audit_controls": audit_controls}
OPERATIONS = {**WRITES, **READS}


def _filters(since, until, facilities):
    from models.filters import Filters

    return Filters(start=since and date.fromisoformat(since), end=until and date.fromisoformat(until),
                   facilities=tuple(facilities or ()))


# -- running them ------------------------------------------------------------------------------
def run(settings: Settings, name: str, **params):
    """Run operation `name` on the store `settings.db`: through the server that owns it if one
    runs, else here. Files named in `params` must be absolute paths (the server may run
    elsewhere in the file system)."""
    from app.server_file import running_server

    server = running_server(settings.db)
    if server:
        return ask(server, name, params)
    store = open_store(settings.db, read_only=name in READS and Path(settings.db).exists(),
                       memory_limit=settings.memory_limit)
    try:
        return run_here(store, name, params)
    finally:
        store.close()


def run_here(store: Store, name: str, params: dict):
    """Run operation `name` on an open store: plain JSON in, plain JSON out, known errors as
    `Refused`. The server's API calls this too, so both ways give the same answer."""
    operation = OPERATIONS.get(name)
    if operation is None:
        raise Refused(f"no operation {name!r}; have: {', '.join(OPERATIONS)}")
    params = plain(params)
    try:
        inspect.signature(operation).bind(store, **params)
    except TypeError as exc:
        raise Refused(f"{name}: {exc}") from None
    try:
        return plain(operation(store, **params))
    except (ExportError, ModelNotFound, MappingError, LetterNotFound) as exc:
        raise Refused(str(exc)) from exc


def plain(value):
    """`value` as JSON would carry it (dates and times as text), so local and remote agree."""
    return json.loads(json.dumps(value, default=str))


def ask(server: str, name: str, params: dict):
    """POST the operation to the server; its refusals come back as `Refused`, store errors as
    `StoreError`."""
    import urllib.error
    import urllib.request

    url = f"{server}/api/{name}"
    request = urllib.request.Request(url, data=json.dumps(params, default=str).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=3600) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            answer = json.loads(body)
            message, status = answer["error"], answer["exit_status"]
        except (ValueError, KeyError, TypeError):
            raise StoreError(f"{url} answered {exc.code} {exc.reason}: "
                             f"{body[:500].decode(errors='replace')}") from None
        if status == EXIT_STORE:
            raise StoreError(message) from None
        raise Refused(message, status) from None
    except urllib.error.URLError as exc:
        raise StoreError(f"the server that owns this store ({server}) does not answer: {exc.reason}. "
                         "If it has stopped, delete its .server.json file beside the store.") from None
