-- The audit controls' findings kept at load (control_findings; models/controls.py).

-- name: counts
SELECT control, count(*) AS findings FROM control_findings GROUP BY control;

-- name: tripped_by
-- The findings naming one of $ids, in $controls' order, then as each control lists them
-- (audit.sql: four-eyes by person and approval, after-the-fact by facility, department and
-- creation, duplicates by supplier, bank changes largest payment first).
SELECT control, invoice_id, person, amount, reason
FROM control_findings
WHERE invoice_id IN (SELECT unnest($ids::VARCHAR[]))
   OR original_invoice_id IN (SELECT unnest($ids::VARCHAR[]))
   OR po_id IN (SELECT unnest($ids::VARCHAR[]))
   OR payment_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY list_position($controls::VARCHAR[], control),
         CASE WHEN control = 'bank_change_before_payment' THEN -amount END,
         CASE control WHEN 'four_eyes' THEN person WHEN 'po_after_invoice' THEN facility
                      WHEN 'duplicate_invoices' THEN supplier_id END,
         CASE WHEN control = 'po_after_invoice' THEN department END,
         CASE WHEN control = 'bank_change_before_payment' THEN payment_id END,
         found_at, invoice_id;

-- name: scope_invoices
-- The invoices models/documents.py `refresh` re-derived (its temp table document_scope).
SELECT object_id FROM document_scope WHERE kind = 'invoice';

-- name: scope_suppliers
-- The suppliers a load touched (documents' temp table document_touched), and the suppliers
-- paid by the payments it touched (found with the documents' scope, kind 'supplier').
SELECT object_id FROM document_touched WHERE object_type = $supplier
UNION
SELECT object_id FROM document_scope WHERE kind = 'supplier';

-- name: forget
DELETE FROM control_findings
WHERE CASE WHEN control = 'bank_change_before_payment'
           THEN $suppliers::VARCHAR[] IS NULL OR supplier_id IN (SELECT unnest($suppliers::VARCHAR[]))
           ELSE $invoices::VARCHAR[] IS NULL OR invoice_id IN (SELECT unnest($invoices::VARCHAR[]))
                OR original_invoice_id IN (SELECT unnest($invoices::VARCHAR[])) END;
