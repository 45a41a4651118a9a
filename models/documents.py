"""The current state of each P2P document: purchase order lines, receipts per PO line, invoices
and invoice lines, as tables (models/sql/documents.sql).

Other questions (match, audit) read these as relations by name: `query(con, "match.three_way")`
runs a block with the document blocks it names put in front of it as WITH clauses.
"""

from __future__ import annotations

import re

import pyarrow as pa

from models import vocabulary as v
from models.queries import _blocks, _used, sql

# Bound wherever a block asks for them: object types and activities are never re-typed in SQL.
NAMES = {
    "po_line": v.PO_LINE, "purchase_order": v.PURCHASE_ORDER, "requisition": v.REQUISITION,
    "supplier": v.SUPPLIER, "invoice": v.INVOICE, "invoice_line": v.INVOICE_LINE,
    "goods_receipt": v.GOODS_RECEIPT, "payment": v.PAYMENT,
    "create_po": v.CREATE_PURCHASE_ORDER, "goods_receipt_activity": v.RECORD_GOODS_RECEIPT,
    "return_activity": v.RETURN_GOODS, "receive_invoice": v.RECEIVE_INVOICE,
    "match_invoice": v.MATCH_INVOICE, "approve_invoice": v.APPROVE_INVOICE,
    "release_payment": v.RELEASE_PAYMENT, "bank_change": v.CHANGE_SUPPLIER_BANK_DETAILS,
}

# The procurement platform's kinds of purchase (requisition attribute `flow`)
BILL_ONLY = "bill_only"     # implant used from consignment stock; the usage is the receipt
SERVICE = "service"         # two-way match: no goods receipt


def po_lines(con) -> pa.Table:
    """po_line_id, po_id, line_no, item, unspsc, quantity, unit_price, contract_price,
    supplier_id, facility, department, flow, created_at, created_by."""
    return query(con, "documents.po_lines")


def receipts(con) -> pa.Table:
    """po_line_id, po_id, received_quantity, goods_receipts, returns, order_receipts,
    first_receipt_at, last_receipt_at."""
    return query(con, "documents.receipts")


def invoices(con) -> pa.Table:
    """invoice_id, supplier_id, supplier_invoice_number, amount, invoice_date, due_date,
    payment_terms, ap_match_result, ap_exception_reason, ap_match_type, po_id, facility,
    department, flow, po_created_at, po_created_by, received_at, approved_at, approved_by."""
    return query(con, "documents.invoices")


def invoice_lines(con) -> pa.Table:
    """invoice_line_id, invoice_id, po_line_id, quantity, unit_price, line_amount."""
    return query(con, "documents.invoice_lines")


def with_documents(name: str) -> str:
    """Block `name`'s SQL preceded, as WITH clauses, by the blocks it reads: the document blocks
    and the other blocks of its own file, each once, a block after those it reads."""
    concern, _, block = name.partition(".")
    body = re.sub(r"^(\s*--[^\n]*\n)+", "", sql(name))     # leading comments
    available = {f"documents.{b}": text for b, text in _blocks("documents").items()}
    available.update({f"{concern}.{b}": text for b, text in _blocks(concern).items() if b != block})
    ordered: list[str] = []

    def visit(text: str, seen: tuple[str, ...]) -> None:
        for key, sub in available.items():
            short = key.partition(".")[2]
            if key not in ordered and key not in seen and re.search(rf"\b{short}\b", text):
                visit(sub, seen + (key,))
                if key not in ordered:
                    ordered.append(key)

    visit(body, (name,))
    if not ordered:
        return body
    ctes = ",\n".join(f"{k.partition('.')[2]} AS (\n{available[k]}\n)" for k in ordered)
    if re.match(r"\s*WITH\b", body, re.IGNORECASE):
        return f"WITH {ctes},\n{body.lstrip()[4:]}"
    return f"WITH {ctes}\n{body}"


def query(con, name: str, **params) -> pa.Table:
    """Run block `name` over the current documents; object types and activities bound."""
    q = with_documents(name)
    return con.sql(q, params=_used(q, {**NAMES, "bill_only": BILL_ONLY, "service": SERVICE,
                                        **params})).to_arrow_table()
