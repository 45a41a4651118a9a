"""Audit controls: segregation of duties, after-the-fact orders, duplicate invoices, bank detail
changes before payments, and the full trail of a case. Each control returns its findings as a
table with the ids, who, when, the amount and a short reason (SQL in models/sql/audit.sql)."""

from __future__ import annotations

import pyarrow as pa

from models import cases
from models import vocabulary as v
from models.documents import query
from models.queries import execute, keyed_table, table


def _scope(facilities) -> list | None:
    return list(facilities) if facilities else None


def _ids(ids) -> list | None:
    return None if ids is None else list(ids)


def four_eyes(con, facilities=None, *, invoices=None) -> pa.Table:
    """Invoices approved by the person who created the order they bill: invoice_id, po_id,
    supplier_id, facility, person, po_created_at, approved_at, amount, reason. `invoices`: judge
    only these (None: all)."""
    return query(con, "audit.four_eyes", person=v.PERSON, facilities=_scope(facilities),
                 invoices=_ids(invoices))


def po_after_invoice(con, facilities=None, *, invoices=None) -> pa.Table:
    """After-the-fact orders (bill-only implants excluded): invoice_id, po_id, supplier_id,
    facility, department, person (who created the order), po_created_at, invoice_date,
    invoice_received_at, first_receipt_at, amount, days_after_invoice_date, reason. `invoices`:
    judge only these (None: all)."""
    return query(con, "audit.po_after_invoice", facilities=_scope(facilities), invoices=_ids(invoices))


def duplicate_invoices(con, window_days: int = 30, facilities=None, *, invoices=None) -> pa.Table:
    """Invoices repeating an earlier one of the same supplier and amount with the same number
    once normalised, within `window_days`: invoice_id, original_invoice_id, supplier_id, facility,
    amount, supplier_invoice_number, original_number, invoice_date, original_invoice_date,
    received_at, original_received_at, person (approver), approved_at, reason. `invoices`: only
    the pairs with one of these on either side (None: all)."""
    return query(con, "audit.duplicate_invoices", window_days=int(window_days),
                 facilities=_scope(facilities), invoices=_ids(invoices))


def bank_change_before_payment(con, days: int = 14, min_amount: float = 10_000.0,
                               facilities=None, *, suppliers=None) -> pa.Table:
    """Payments of at least `min_amount` released within `days` after the supplier's bank details
    changed, largest first: payment_id, invoice_id, supplier_id, facility, person (who changed the
    details), changed_at, released_at, released_by, amount, hours_between, account_old,
    account_new, reason. `suppliers`: judge only the payments to these (None: all)."""
    return query(con, "audit.bank_change_before_payment", days=int(days),
                 min_amount=float(min_amount), facilities=_scope(facilities),
                 suppliers=_ids(suppliers))


def case_trail(con, object_id: str) -> pa.Table:
    """Every event of the case `object_id` and of the objects one hop from it, in order (ts,
    source_order): ts, source_order, event_id, activity, source_system, facility, actor,
    actor_kind, objects (of the trail it names), services, trace_ids, spans, first_span_start,
    last_span_end, error_spans. Spans naming a trail object but no stored event come as rows
    with the span's event id and type. Cases and events are found by key (case_lookup,
    event_lookup), not by reading every case's events."""
    case = cases.lookup(con, [object_id]).column("event_keys").to_pylist()
    own = case[0] if case else None
    if not own:    # no case of its own: master data
        own = table(con, "audit.master_data_event_keys", object_id=object_id).column("event_key").to_pylist()
    hop = keyed_table(con, "audit.trail_objects", {"keys": own},
                        object_id=object_id).column("object_id").to_pylist()
    linked = cases.lookup(con, [o for o in hop if o != object_id])   # master data is named, not followed
    objects = [object_id, *linked.column("case_id").to_pylist()]
    keys = sorted(set(own).union(*linked.column("event_keys").to_pylist()))
    return keyed_table(con, "audit.case_trail", {"keys": keys}, objects=objects)


def refresh(con, first_batch: str | None = None, last_batch: str | None = None) -> None:
    """Keep event_lookup for the events and relations the loads with batch ids in [first_batch,
    last_batch] brought (None: all), inside the caller's transaction (models/store.py)."""
    for step in ("refresh_lookup", "refresh_forget_lookup", "refresh_keep_lookup", "refresh_lookup_done"):
        execute(con, f"audit.{step}", first=first_batch, last=last_batch)
