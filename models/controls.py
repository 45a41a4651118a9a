"""The audit controls as one registry: what each checks, its findings, and the findings that
involve a given case."""

from __future__ import annotations

from models import audit

# id -> (title, the control). Each control returns findings with at least invoice_id, person,
# amount and reason.
CONTROLS = {
    "four_eyes": ("Four-eyes violation", audit.four_eyes),
    "duplicate_invoices": ("Duplicate invoice", audit.duplicate_invoices),
    "po_after_invoice": ("After-the-fact PO", audit.po_after_invoice),
    "bank_change_before_payment": ("Bank change before payment", audit.bank_change_before_payment),
}

# Columns through which a finding names the documents it involves.
_DOCUMENT_COLUMNS = ("invoice_id", "original_invoice_id", "po_id", "payment_id")


def counts(con) -> dict[str, int]:
    """Findings per control title."""
    return {title: control(con).num_rows for title, control in CONTROLS.values()}


def tripped_by(con, object_ids: list[str]) -> list[dict]:
    """Every finding that names one of `object_ids` (a case and its related documents): control,
    invoice_id, person, amount, reason, in the registry's order."""
    wanted = set(object_ids)
    found = []
    for title, control in CONTROLS.values():
        for row in control(con).to_pylist():
            if wanted & {row.get(c) for c in _DOCUMENT_COLUMNS}:
                found.append({"control": title, "invoice_id": row["invoice_id"], "person": row["person"],
                              "amount": row["amount"], "reason": row["reason"]})
    return found
