-- Three-way match per invoice line: the invoice against its purchase order line and what was
-- received, over the current documents (documents.sql: po_lines, receipts, invoices,
-- invoice_lines are read as relations).
-- Outcomes, first that applies: missing_po (no order line the ERP created), missing_receipt (a
-- receipt is required and none is recorded), price_variance, quantity_variance, matched.
-- Receipt rule per order line: 'usage' for bill-only implants (a usage receipt of the order, or a
-- goods receipt, suffices; quantities are checked against the order), 'none' for services (two-way
-- match: quantities against the order), else 'goods' (quantities against the received quantity:
-- receipts minus returns).
-- $price_tolerance: fraction of the PO unit price an invoice price may exceed (0.02 = 2%).
-- $quantity_tolerance: units, and $quantity_tolerance_pct: fraction of the reference quantity,
-- an invoiced quantity may exceed (the larger of the two applies).
-- $facilities: a list of facility ids, or NULL for all.

-- name: three_way
WITH line AS (
    SELECT il.invoice_line_id, il.invoice_id, i.supplier_id, i.facility, i.department,
           il.po_line_id, pl.po_id, pl.item,
           il.quantity                                AS invoiced_quantity,
           il.unit_price                              AS invoiced_price,
           coalesce(il.line_amount, il.quantity * il.unit_price) AS invoiced_amount,
           pl.quantity                                AS ordered_quantity,
           pl.unit_price                              AS po_price,
           pl.contract_price,
           r.received_quantity,
           r.goods_receipts, r.order_receipts,
           CASE WHEN pl.flow = $bill_only OR coalesce(r.order_receipts, 0) > 0 THEN 'usage'
                WHEN pl.flow = $service THEN 'none'
                ELSE 'goods' END                      AS receipt_rule,
           pl.created_at IS NOT NULL AND pl.unit_price IS NOT NULL AS has_po
    FROM invoice_lines il
    LEFT JOIN invoices i  ON i.invoice_id = il.invoice_id
    LEFT JOIN po_lines pl ON pl.po_line_id = il.po_line_id
    LEFT JOIN receipts r  ON r.po_line_id = il.po_line_id
    WHERE $facilities IS NULL OR list_contains($facilities, i.facility)
),
measured AS (
    SELECT *,
           CASE receipt_rule WHEN 'goods' THEN coalesce(received_quantity, 0)
                             ELSE ordered_quantity END AS reference_quantity,
           CASE receipt_rule WHEN 'goods' THEN goods_receipts > 0
                             WHEN 'usage' THEN goods_receipts + order_receipts > 0
                             ELSE true END            AS has_receipt
    FROM line
),
judged AS (
    SELECT *,
           round((invoiced_price - po_price) * invoiced_quantity, 2)              AS price_variance_amount,
           round((invoiced_quantity - reference_quantity) * invoiced_price, 2)    AS quantity_variance_amount,
           CASE WHEN NOT has_po THEN 'missing_po'
                WHEN NOT has_receipt THEN 'missing_receipt'
                WHEN invoiced_price > po_price * (1 + $price_tolerance) + 0.005 THEN 'price_variance'
                WHEN invoiced_quantity - reference_quantity
                     > greatest($quantity_tolerance, $quantity_tolerance_pct * reference_quantity) + 1e-9
                     THEN 'quantity_variance'
                ELSE 'matched' END                                               AS outcome
    FROM measured
)
SELECT invoice_line_id, invoice_id, po_line_id, po_id, supplier_id, facility, department, item,
       outcome,
       CASE outcome WHEN 'price_variance' THEN price_variance_amount
                    WHEN 'quantity_variance' THEN quantity_variance_amount
                    WHEN 'matched' THEN 0
                    ELSE round(invoiced_amount, 2) END AS variance_amount,
       receipt_rule, invoiced_quantity, reference_quantity, ordered_quantity, received_quantity,
       invoiced_price, po_price, contract_price, round(invoiced_amount, 2) AS invoiced_amount,
       price_variance_amount, quantity_variance_amount
FROM judged
ORDER BY invoice_id, invoice_line_id;

-- name: by_invoice
-- One row per invoice: its worst line outcome (in the order above), line counts and amounts.
SELECT t.invoice_id, any_value(t.supplier_id) AS supplier_id, any_value(t.facility) AS facility,
       any_value(t.department) AS department,
       CASE min(CASE t.outcome WHEN 'missing_po' THEN 1 WHEN 'missing_receipt' THEN 2
                               WHEN 'price_variance' THEN 3 WHEN 'quantity_variance' THEN 4 ELSE 5 END)
            WHEN 1 THEN 'missing_po' WHEN 2 THEN 'missing_receipt' WHEN 3 THEN 'price_variance'
            WHEN 4 THEN 'quantity_variance' ELSE 'matched' END       AS outcome,
       count(*)                                                     AS lines,
       count(*) FILTER (WHERE t.outcome <> 'matched')               AS lines_not_matched,
       sum(t.invoiced_amount)                                       AS invoiced_amount,
       sum(t.variance_amount)                                       AS variance_amount,
       any_value(i.amount)                                          AS amount,
       any_value(i.ap_match_result)                                 AS ap_match_result,
       any_value(i.ap_exception_reason)                             AS ap_exception_reason
FROM three_way t LEFT JOIN invoices i ON i.invoice_id = t.invoice_id
GROUP BY t.invoice_id
ORDER BY t.invoice_id;

-- name: disagreements
-- Invoices where our outcome and the AP platform's verdict differ. The platform's verdicts are
-- translated to our outcomes by $ap_codes -> $ap_outcomes (models/match.py AP_VERDICTS).
SELECT invoice_id, supplier_id, facility, amount, outcome,
       ap_match_result, ap_exception_reason, ap_outcome, lines, lines_not_matched, variance_amount
FROM (
    SELECT b.*,
           $ap_outcomes[list_position($ap_codes, coalesce(b.ap_exception_reason, b.ap_match_result))] AS ap_outcome
    FROM by_invoice b
)
WHERE ap_outcome IS DISTINCT FROM outcome
ORDER BY outcome, ap_outcome, invoice_id;

-- name: contract_price_lines
-- Invoice lines priced above the GPO contract price (by more than $tolerance, a fraction).
SELECT il.invoice_line_id, il.invoice_id, il.po_line_id, pl.po_id, pl.supplier_id, i.facility,
       pl.item, pl.contract_price, pl.unit_price AS po_price, il.unit_price AS invoiced_price,
       il.quantity,
       round(il.unit_price / pl.contract_price - 1, 4)                AS above_contract,
       round((il.unit_price - pl.contract_price) * il.quantity, 2)    AS excess_amount
FROM invoice_lines il
JOIN po_lines pl ON pl.po_line_id = il.po_line_id
LEFT JOIN invoices i ON i.invoice_id = il.invoice_id
WHERE pl.contract_price > 0
  AND round(il.unit_price - pl.contract_price * (1 + $tolerance), 2) > 0
  AND ($facilities IS NULL OR list_contains($facilities, i.facility))
ORDER BY excess_amount DESC, il.invoice_line_id;

-- name: contract_price_deviations
-- Per supplier: how much of what it invoiced under contract was above the contract price.
-- excess_share = excess over the contract price / contract value of all its contract lines.
WITH priced AS (
    SELECT pl.supplier_id, il.invoice_id, il.invoice_line_id, il.quantity,
           il.unit_price, pl.contract_price,
           round(il.unit_price - pl.contract_price * (1 + $tolerance), 2) > 0 AS above
    FROM invoice_lines il
    JOIN po_lines pl ON pl.po_line_id = il.po_line_id
    LEFT JOIN invoices i ON i.invoice_id = il.invoice_id
    WHERE pl.contract_price > 0 AND il.unit_price IS NOT NULL
      AND ($facilities IS NULL OR list_contains($facilities, i.facility))
)
SELECT supplier_id,
       count(*)                                                              AS lines,
       count(*) FILTER (WHERE above)                                         AS lines_above,
       round(count(*) FILTER (WHERE above) / count(*), 4)                    AS share_above,
       count(DISTINCT invoice_id) FILTER (WHERE above)                       AS invoices_above,
       round(sum(contract_price * quantity), 2)                              AS contract_value,
       round(sum((unit_price - contract_price) * quantity) FILTER (WHERE above), 2) AS excess_amount,
       round(coalesce(sum((unit_price - contract_price) * quantity) FILTER (WHERE above), 0)
             / nullif(sum(contract_price * quantity), 0), 4)                 AS excess_share
FROM priced
GROUP BY supplier_id
HAVING count(*) >= $min_lines
ORDER BY excess_share DESC, excess_amount DESC, supplier_id;
