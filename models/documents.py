"""The current state of each P2P document: purchase order lines, receipts per PO line, invoices
and invoice lines, and match exceptions, as tables (po_lines, receipts, invoices, invoice_lines,
match_exceptions in models/schema.sql).

They are derived at load (`refresh`, in the load's transaction, for the documents the load
touched; models/sql/documents.sql says how), so a question reads one row per document instead of
re-deriving every document from events, objects and attribute changes each time it is asked.
Other questions (match, audit, kpis) read the tables by name: `query(con, "match.three_way")`
runs a block with the other blocks of its file that it names put in front as WITH clauses.
"""

from __future__ import annotations

import pyarrow as pa

from models import vocabulary as v
from models.queries import bind, composed, execute, sql

# Bound wherever a block asks for them: object types and activities are never re-typed in SQL.
NAMES = {
    "po_line": v.PO_LINE, "purchase_order": v.PURCHASE_ORDER, "requisition": v.REQUISITION,
    "supplier": v.SUPPLIER, "invoice": v.INVOICE, "invoice_line": v.INVOICE_LINE,
    "goods_receipt": v.GOODS_RECEIPT, "payment": v.PAYMENT,
    "create_po": v.CREATE_PURCHASE_ORDER, "goods_receipt_activity": v.RECORD_GOODS_RECEIPT,
    "return_activity": v.RETURN_GOODS, "receive_invoice": v.RECEIVE_INVOICE,
    "match_invoice": v.MATCH_INVOICE, "approve_invoice": v.APPROVE_INVOICE,
    "release_payment": v.RELEASE_PAYMENT, "bank_change": v.CHANGE_SUPPLIER_BANK_DETAILS,
    "flag_exception": v.FLAG_MATCH_EXCEPTION, "block_invoice": v.BLOCK_INVOICE,
    "release_block": v.RELEASE_INVOICE_BLOCK, "person": v.PERSON, "exception": v.EXCEPTION,
    "resolve_exception": v.RESOLVE_EXCEPTION,
}
# Derived in this order: invoices read po_lines.
DERIVED = ("po_lines", "receipts", "invoice_lines", "invoices", "match_exceptions")

# Which documents to derive again after a load, from what it touched (documents.sql scope_start
# seeds the steps): in order, (how, from step, into step, the object type kept). A PO line (and
# its receipts): itself, or its order, the order's requisition, or a supplier the order names
# that just arrived. An invoice line: itself, or the invoice or PO line it is tied to (by O2O or
# a shared event). An invoice: itself, its lines, or an order it names (by O2O or its events)
# whose lines are derived again. A match exception: every one its invoices' events name. And the
# suppliers a touched payment's events name, for models/controls.py (kind 'supplier').
SCOPE_STEPS = (
    ("o2o", "po_from", "po", v.PURCHASE_ORDER),
    ("o2o", "po", "line", v.PO_LINE),
    ("copy", "po", "inv_via", None),
    ("o2o", "line", "line_po", v.PURCHASE_ORDER),
    ("copy", "line_po", "inv_via", None),
    ("o2o", "line_po", "req", v.REQUISITION),     # read by the lines (scope_changes)
    ("o2o", "line_from", "inv_line", v.INVOICE_LINE),
    ("events", "line_touched", "inv_line", v.INVOICE_LINE),
    ("copy", "inv_via", "inv_from", None),
    ("o2o", "inv_from", "inv", v.INVOICE),
    ("events", "inv_via", "inv", v.INVOICE),
    ("events", "inv", "exc", v.EXCEPTION),
    ("events", "payment", "paid", v.SUPPLIER),   # for the bank-change control (models/controls.py)
)

# The procurement platform's kinds of purchase (requisition attribute `flow`)
BILL_ONLY = "bill_only"     # implant used from consignment stock; the usage is the receipt
SERVICE = "service"         # two-way match: no goods receipt


def refresh(con, first_batch: str, last_batch: str) -> None:
    """Re-derive the documents the loads with batch ids in [first_batch, last_batch] touched
    (touched_object, and their attribute changes; inside the caller's transaction,
    models/store.py). Leaves what it touched and re-derived in the temp tables
    document_touched and document_scope."""
    execute(con, "documents.refresh_touched", **NAMES, first=first_batch, last=last_batch)
    if con.sql("SELECT count(*) FROM document_touched").fetchall()[0][0]:   # spans alone touch none
        _scope(con, first_batch, last_batch)
        _derive(con)
        con.execute(sql("documents.scope_reads_done"))
    else:
        con.execute(sql("documents.no_scope"))
    # document_touched and document_scope stay for models/dimensions.py `refresh` (categories)
    # and models/controls.py `refresh`, which judges the invoices re-derived here and drops them.


def rebuild(con) -> None:
    """Derive every document afresh (after the derivation changed)."""
    _run(con, "documents.rebuild_scope")
    con.execute(sql("documents.all_reads"))
    _derive(con)
    con.execute(sql("documents.all_reads_done"))
    con.execute(sql("documents.refresh_done"))


def _scope(con, first_batch: str, last_batch: str) -> None:
    """document_scope: the documents to derive again, found from document_touched."""
    _run(con, "documents.scope_start")
    for how, source, into, object_type in SCOPE_STEPS:
        execute(con, f"documents.scope_{how}", **{"from": source, "into": into, "type": object_type,
                                                   "first": first_batch, "last": last_batch})
    con.execute(sql("documents.scope_relations"))
    con.execute(sql("documents.scope_changes"))
    _run(con, "documents.scope_done")


def _derive(con) -> None:
    for name in DERIVED:
        con.execute(sql(f"documents.forget_{name}"))
        _run(con, f"documents.derive_{name}", into=name)


def _run(con, name: str, into: str | None = None) -> None:
    q = composed(name) if into else sql(name)   # derive_* read the scoped_* blocks by name
    if into:
        q = f"INSERT INTO {into} BY NAME\n{q}"
    con.execute(q, bind(q, {**NAMES, "bill_only": BILL_ONLY, "service": SERVICE}))


def po_lines(con) -> pa.Table:
    """po_line_id, po_id, line_no, item, unspsc, quantity, unit_price, contract_price,
    supplier_id, facility, department, flow, created_at, created_by."""
    return con.sql("SELECT * FROM po_lines ORDER BY po_line_id").to_arrow_table()


def receipts(con) -> pa.Table:
    """po_line_id, po_id, received_quantity, goods_receipts, returns, order_receipts,
    first_receipt_at, last_receipt_at."""
    return con.sql("SELECT * FROM receipts ORDER BY po_line_id").to_arrow_table()


def invoices(con) -> pa.Table:
    """invoice_id, supplier_id, supplier_invoice_number, number_key, amount, invoice_date,
    due_date, payment_terms, ap_match_result, ap_exception_reason, ap_match_type, po_id,
    facility, department, category, flow, po_created_at, po_created_by, received_at,
    approved_at, approved_by, paid_at, … (schema.sql: invoices)."""
    return con.sql("SELECT * FROM invoices ORDER BY invoice_id").to_arrow_table()


def invoice_lines(con) -> pa.Table:
    """invoice_line_id, invoice_id, po_line_id, quantity, unit_price, line_amount."""
    return con.sql("SELECT * FROM invoice_lines ORDER BY invoice_line_id").to_arrow_table()


def match_exceptions(con) -> pa.Table:
    """exception_id (the exception object, else the invoice), invoice_id, flagged_at,
    first_resolved_at."""
    return con.sql("SELECT * FROM match_exceptions ORDER BY exception_id").to_arrow_table()


def query(con, name: str, **params) -> pa.Table:
    """Run block `name` over the current documents; object types and activities bound."""
    q = composed(name)
    return con.sql(q, params=bind(q, {**NAMES, "bill_only": BILL_ONLY, "service": SERVICE,
                                        **params})).to_arrow_table()
