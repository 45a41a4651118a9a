"""Finding the case an auditor asks about: by PO, invoice or supplier id, or by a person."""

from __future__ import annotations

import pyarrow as pa

from models import vocabulary as v
from models.queries import execute, keyed_table, scalar, table

# The objects an auditor opens a case on, in the order results list them
CASE_TYPES = (v.INVOICE, v.PURCHASE_ORDER, v.REQUISITION, v.PAYMENT, v.SUPPLIER, v.PO_LINE,
              v.GOODS_RECEIPT, v.INVOICE_LINE)


# Keys per lookup statement: 400 cases at 1M orders took 50 ms in lists of 50, 20 ms in one of 400
KEYS_PER_LOOKUP = 1000


def find(con, text: str, types: tuple[str, ...] | None = CASE_TYPES, limit: int = 50) -> pa.Table:
    """The case whose id is `text` in any case, alone; else the objects whose id contains `text`
    (any case) and those a person named `text` acted on: object_id, object_type, matched_on,
    events, first_event, last_event."""
    text = text.strip()
    types = list(types) if types else None
    exact = keyed_table(con, "cases.find_case", {"keys": [scalar(con, "cases.key", text=text)]},
                          text=text, types=types, limit=limit)
    if exact.num_rows:      # an id typed whole (pasted, usually): no need to read every id and actor
        return exact
    people = table(con, "cases.people", text=text, service=v.SERVICE).column("actor").to_pylist()
    return table(con, "cases.find", text=text, people=people, service=v.SERVICE, types=types, limit=limit)


def lookup(con, ids: list[str]) -> pa.Table:
    """The cases among `ids` (master data and objects without events are none), by key:
    case_id, event_keys (hash(event_id) of its events, in case order)."""
    ids = sorted(set(ids))
    parts = []
    for start in range(0, len(ids), KEYS_PER_LOOKUP):
        chunk = ids[start:start + KEYS_PER_LOOKUP]
        keys = scalar(con, "cases.keys", ids=chunk) or []
        parts.append(keyed_table(con, "cases.lookup", {"keys": keys}, ids=chunk))
    return pa.concat_tables(parts) if parts else table(con, "cases.lookup", keys=[], ids=[])


def refresh(con, first_batch: str | None = None, last_batch: str | None = None) -> None:
    """Keep case_lookup for the cases the loads touched (touched_object), after case_event,
    inside the caller's transaction (models/store.py)."""
    if scalar(con, "cases.touched"):     # a load of spans only touches no case
        for step in ("refresh_forget", "refresh_keep"):
            execute(con, f"cases.{step}")


def rebuild(con) -> None:
    """Derive case_lookup afresh from case_event (a store that had none)."""
    for step in ("rebuild_touched", "refresh_forget", "refresh_keep", "rebuild_done"):
        execute(con, f"cases.{step}")
