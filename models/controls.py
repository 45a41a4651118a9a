"""The audit controls as one registry: what each checks, its findings, and the findings that
involve a given case.

What the controls find with their default settings is kept at load in `control_findings`
(`refresh`, for the invoices the documents refresh re-derived and the suppliers a load touched),
so counting findings or listing a case's reads rows instead of running every control in full."""

from __future__ import annotations

import pyarrow as pa

from models import audit, vocabulary as v
from models.queries import bind, sql, table

# id -> (title, the control). Each control returns findings with at least invoice_id, person,
# amount and reason.
CONTROLS = {
    "four_eyes": ("Four-eyes violation", audit.four_eyes),
    "duplicate_invoices": ("Duplicate invoice", audit.duplicate_invoices),
    "po_after_invoice": ("After-the-fact PO", audit.po_after_invoice),
    "bank_change_before_payment": ("Bank change before payment", audit.bank_change_before_payment),
}

# Per control: the finding's column each control_findings column takes (absent: NULL).
_KEPT = {
    "four_eyes": {"found_at": "approved_at"},
    "duplicate_invoices": {},
    "po_after_invoice": {"found_at": "po_created_at"},
    "bank_change_before_payment": {"found_at": "changed_at"},
}
_COLUMNS = ("invoice_id", "original_invoice_id", "po_id", "payment_id", "supplier_id", "facility",
            "department", "person", "amount", "found_at", "reason")
# What each control is judged by: the invoices re-derived, or the suppliers touched.
_BY_SUPPLIER = {"bank_change_before_payment"}


def counts(con) -> dict[str, int]:
    """Findings per control title."""
    found = dict(con.sql(sql("controls.counts")).fetchall())
    return {title: found.get(cid, 0) for cid, (title, _) in CONTROLS.items()}


def tripped_by(con, object_ids: list[str]) -> list[dict]:
    """Every finding that names one of `object_ids` (a case and its related documents): control,
    invoice_id, person, amount, reason, in the registry's order (within a control, the order
    the control lists its findings in)."""
    rows = table(con, "controls.tripped_by", ids=list(object_ids), controls=list(CONTROLS)).to_pylist()
    return [{**r, "control": CONTROLS[r["control"]][0]} for r in rows]


# -- keeping control_findings ---------------------------------------------------------------------
def refresh(con, first_batch: str, last_batch: str) -> None:
    """Judge again what the loads with batch ids in [first_batch, last_batch] may have changed:
    the invoices models/documents.py `refresh` just re-derived (its document_scope, left for
    this), and the suppliers the loads touched or whose payments they touched. Inside the
    caller's transaction; drops the documents' scope tables."""
    invoices = _ids(con, "controls.scope_invoices")
    suppliers = _ids(con, "controls.scope_suppliers")
    _judge(con, invoices, suppliers)
    con.execute(sql("documents.refresh_done"))


def rebuild(con) -> None:
    """Judge everything afresh."""
    _judge(con, None, None)


def findings(con) -> pa.Table:
    """control_findings, in a stable order (to compare a kept table with a rebuild)."""
    return con.sql("SELECT * FROM control_findings ORDER BY ALL").to_arrow_table()


def _judge(con, invoices: list | None, suppliers: list | None) -> None:
    if invoices == [] and suppliers == []:
        return
    con.execute(sql("controls.forget"), {"invoices": invoices, "suppliers": suppliers})
    for cid, (_, control) in CONTROLS.items():
        scope = {"suppliers": suppliers} if cid in _BY_SUPPLIER else {"invoices": invoices}
        if next(iter(scope.values())) == []:
            continue
        found = control(con, **scope)
        if not found.num_rows:
            continue
        names = {c: _KEPT[cid].get(c, c) for c in _COLUMNS}
        kept = pa.table({"control": pa.array([cid] * found.num_rows, pa.string()),
                         **{c: found.column(src) if src in found.column_names else pa.nulls(found.num_rows)
                            for c, src in names.items()}})
        con.register("found", kept)
        try:
            con.execute("INSERT INTO control_findings BY NAME SELECT * FROM found")
        finally:
            con.unregister("found")


def _ids(con, name: str) -> list[str]:
    q = sql(name)
    return [r[0] for r in con.sql(q, params=bind(q, {"supplier": v.SUPPLIER, "payment": v.PAYMENT})).fetchall()]
