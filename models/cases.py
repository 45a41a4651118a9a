"""Finding the case an auditor asks about: by PO, invoice or supplier id, or by a person."""

from __future__ import annotations

import pyarrow as pa

from models import vocabulary as v
from models.queries import table

# The objects an auditor opens a case on, in the order results list them
CASE_TYPES = (v.INVOICE, v.PURCHASE_ORDER, v.REQUISITION, v.PAYMENT, v.SUPPLIER, v.PO_LINE,
              v.GOODS_RECEIPT, v.INVOICE_LINE)


def find(con, text: str, types: tuple[str, ...] | None = CASE_TYPES, limit: int = 50) -> pa.Table:
    """Objects whose id contains `text` (any case), or that a person named `text` acted on:
    object_id, object_type, matched_on, events, first_event, last_event."""
    text = text.strip()
    people = table(con, "cases.people", text=text, service=v.SERVICE).column("actor").to_pylist()
    return table(con, "cases.find", text=text, people=people, service=v.SERVICE,
                 types=list(types) if types else None, limit=limit)
