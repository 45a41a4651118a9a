"""Three-way match: each invoice line against its purchase order line and what was received,
the AP platform's verdicts checked against ours, and prices against the GPO contract.

SQL in models/sql/match.sql, over the current documents (models/documents.py).
Tolerances: `price_tolerance` is a fraction of the PO unit price (0.02: an invoice price up to
2% above the PO price still matches); `quantity_tolerance` is in units and
`quantity_tolerance_pct` a fraction of the reference quantity (received, or ordered where no
goods receipt is required); the larger of the two applies.
"""

from __future__ import annotations

import pyarrow as pa

from models.documents import query

MATCHED = "matched"
PRICE_VARIANCE = "price_variance"
QUANTITY_VARIANCE = "quantity_variance"
MISSING_RECEIPT = "missing_receipt"
MISSING_PO = "missing_po"
OUTCOMES = (MISSING_PO, MISSING_RECEIPT, PRICE_VARIANCE, QUANTITY_VARIANCE, MATCHED)  # worst first

# The AP platform's verdicts (match result, else exception reason) in our outcomes
AP_VERDICTS = {
    "MATCHED": MATCHED, "PO_NOT_FOUND": MISSING_PO, "RECEIPT_MISSING": MISSING_RECEIPT,
    "PRICE_VARIANCE": PRICE_VARIANCE, "QUANTITY_VARIANCE": QUANTITY_VARIANCE,
}


def _tolerances(price_tolerance, quantity_tolerance, quantity_tolerance_pct, facilities) -> dict:
    return dict(price_tolerance=float(price_tolerance), quantity_tolerance=float(quantity_tolerance),
                quantity_tolerance_pct=float(quantity_tolerance_pct),
                facilities=list(facilities) if facilities else None)


def three_way(con, price_tolerance: float = 0.02, quantity_tolerance: float = 0.0,
              facilities=None, *, quantity_tolerance_pct: float = 0.0) -> pa.Table:
    """One row per invoice line: invoice_line_id, invoice_id, po_line_id, po_id, supplier_id,
    facility, department, item, outcome, variance_amount (price: (invoiced - PO price) x invoiced
    quantity; quantity: (invoiced - reference quantity) x invoiced price; missing_*: the line
    amount; matched: 0), receipt_rule (goods | usage | none), invoiced_quantity,
    reference_quantity, ordered_quantity, received_quantity, invoiced_price, po_price,
    contract_price, invoiced_amount, price_variance_amount, quantity_variance_amount."""
    return query(con, "match.three_way",
                 **_tolerances(price_tolerance, quantity_tolerance, quantity_tolerance_pct, facilities))


def by_invoice(con, price_tolerance: float = 0.02, quantity_tolerance: float = 0.0,
               facilities=None, *, quantity_tolerance_pct: float = 0.0) -> pa.Table:
    """One row per invoice: invoice_id, supplier_id, facility, department, outcome (its worst
    line's), lines, lines_not_matched, invoiced_amount, variance_amount, amount,
    ap_match_result, ap_exception_reason."""
    return query(con, "match.by_invoice",
                 **_tolerances(price_tolerance, quantity_tolerance, quantity_tolerance_pct, facilities))


def disagreements(con, price_tolerance: float = 0.02, quantity_tolerance: float = 0.0,
                  facilities=None, *, quantity_tolerance_pct: float = 0.0) -> pa.Table:
    """Invoices where our outcome and the AP platform's differ: invoice_id, supplier_id,
    facility, amount, outcome, ap_match_result, ap_exception_reason, ap_outcome, lines,
    lines_not_matched, variance_amount."""
    return query(con, "match.disagreements",
                 ap_codes=list(AP_VERDICTS), ap_outcomes=list(AP_VERDICTS.values()),
                 **_tolerances(price_tolerance, quantity_tolerance, quantity_tolerance_pct, facilities))


def contract_price_deviations(con, tolerance: float = 0.0, min_lines: int = 10,
                              facilities=None) -> pa.Table:
    """Per supplier with at least `min_lines` invoice lines under contract, the most over contract
    first: supplier_id, lines, lines_above, share_above, invoices_above, contract_value,
    excess_amount, excess_share (excess over contract / contract value)."""
    return query(con, "match.contract_price_deviations", tolerance=float(tolerance),
                 min_lines=int(min_lines), facilities=list(facilities) if facilities else None)


def contract_price_lines(con, tolerance: float = 0.0, facilities=None) -> pa.Table:
    """Invoice lines priced above the contract price by more than `tolerance` (a fraction):
    invoice_line_id, invoice_id, po_line_id, po_id, supplier_id, facility, item, contract_price,
    po_price, invoiced_price, quantity, above_contract, excess_amount."""
    return query(con, "match.contract_price_lines", tolerance=float(tolerance),
                 facilities=list(facilities) if facilities else None)
