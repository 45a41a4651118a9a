-- Audit controls: each a list of findings with the ids, who, when, amount and a short reason.
-- They read the current documents (documents.sql: invoices, po_lines, … as relations) and the
-- events themselves. Object types and activities are bound from models/vocabulary.py.

-- name: four_eyes
-- The person who created a purchase order approved an invoice billing it. An invoice bills an
-- order by O2O (either direction) or by an approval event that names both. $invoices: the
-- invoices to judge (NULL: all).
WITH both_roles AS MATERIALIZED (  -- people who created an order and approved an invoice: only their events matter
    SELECT actor FROM event WHERE activity = $create_po AND actor_kind = $person
    INTERSECT
    SELECT actor FROM event WHERE activity = $approve_invoice AND actor_kind = $person
),
created AS (
    SELECT r.object_id AS po_id, e.actor, e.ts, e.event_id
    FROM event e JOIN event_object r ON r.event_id = e.event_id
    JOIN object o ON o.object_id = r.object_id AND o.object_type = $purchase_order
    SEMI JOIN both_roles b ON b.actor = e.actor
    WHERE e.activity = $create_po AND e.actor_kind = $person
),
approved AS (
    SELECT r.object_id AS invoice_id, e.actor, e.ts, e.event_id
    FROM event e JOIN event_object r ON r.event_id = e.event_id
    JOIN object o ON o.object_id = r.object_id AND o.object_type = $invoice
    SEMI JOIN both_roles b ON b.actor = e.actor
    WHERE e.activity = $approve_invoice AND e.actor_kind = $person
      AND ($invoices IS NULL OR r.object_id IN (SELECT unnest($invoices::VARCHAR[])))
),
bills AS (
    SELECT a.invoice_id, r.object_id AS po_id
    FROM approved a JOIN event_object r ON r.event_id = a.event_id
    UNION
    SELECT l.object_id, l.linked_id FROM object_link l SEMI JOIN approved a ON a.invoice_id = l.object_id
    WHERE l.object_key IN (SELECT hash(invoice_id) FROM approved)
),
found AS MATERIALIZED (
    SELECT DISTINCT a.invoice_id, c.po_id, a.actor, c.ts AS po_created_at, a.ts AS approved_at
    FROM approved a
    JOIN bills b ON b.invoice_id = a.invoice_id
    JOIN created c ON c.po_id = b.po_id AND c.actor = a.actor
)
SELECT f.invoice_id, f.po_id, i.supplier_id, i.facility, f.actor AS person,
       f.po_created_at, f.approved_at, i.amount,
       'created ' || f.po_id || ' on ' || strftime(f.po_created_at, '%Y-%m-%d') || ' and approved its invoice '
           || f.invoice_id || ' on ' || strftime(f.approved_at, '%Y-%m-%d')   AS reason
FROM found f
LEFT JOIN invoices i ON i.invoice_id = f.invoice_id
WHERE $facilities IS NULL OR list_contains($facilities, i.facility)
ORDER BY person, approved_at, f.invoice_id;

-- name: po_after_invoice
-- After-the-fact orders: the order was created after the supplier's invoice date, or after the
-- AP platform received the invoice, or after goods were received against it. Bill-only implants
-- are legitimate (the order follows the usage) and left out. $invoices: the invoices to judge
-- (NULL: all).
WITH order_receipt AS (
    SELECT po_id, min(first_receipt_at) AS first_receipt_at FROM receipts GROUP BY ALL
),
judged AS (
    SELECT i.*, r.first_receipt_at,
           i.po_created_at::DATE > i.invoice_date       AS after_invoice_date,
           i.po_created_at > i.received_at              AS after_invoice_received,
           i.po_created_at > r.first_receipt_at         AS after_receipt
    FROM invoices i LEFT JOIN order_receipt r ON r.po_id = i.po_id
    WHERE i.po_created_at IS NOT NULL AND i.flow IS DISTINCT FROM $bill_only
      AND ($invoices IS NULL OR i.invoice_id IN (SELECT unnest($invoices::VARCHAR[])))
)
SELECT invoice_id, po_id, supplier_id, facility, department, po_created_by AS person,
       po_created_at, invoice_date, received_at AS invoice_received_at, first_receipt_at, amount,
       date_diff('day', invoice_date, po_created_at::DATE) AS days_after_invoice_date,
       concat_ws('; ',
           CASE WHEN after_invoice_date THEN 'order created ' || date_diff('day', invoice_date, po_created_at::DATE)
                                             || ' days after the invoice date' END,
           CASE WHEN after_invoice_received THEN 'after AP received the invoice' END,
           CASE WHEN after_receipt THEN 'after the goods receipt' END)            AS reason
FROM judged
WHERE (after_invoice_date OR after_invoice_received OR after_receipt)
  AND ($facilities IS NULL OR list_contains($facilities, facility))
ORDER BY facility, department, po_created_at, invoice_id;

-- name: duplicate_invoices
-- Pairs of invoices of one supplier and amount whose numbers agree once normalised (number_key:
-- letters and digits only, lower case, a leading "inv"/"in" dropped, leading zeros of the number
-- dropped), dated within $window_days of each other. The first received is the original.
-- $invoices: only the pairs with one of these invoices on either side (NULL: all).
WITH keyed AS (
    SELECT *, coalesce(invoice_date, received_at::DATE) AS day, round(amount, 2) AS amount_key
    FROM invoices
    WHERE supplier_invoice_number IS NOT NULL AND amount IS NOT NULL
),
inv AS (    -- with $invoices: only invoices sharing supplier, amount and number with one of them
    SELECT k.* FROM keyed k
    WHERE $invoices IS NULL OR EXISTS (
        SELECT 1 FROM keyed s
        WHERE s.invoice_id IN (SELECT unnest($invoices::VARCHAR[]))
          AND s.supplier_id = k.supplier_id AND s.amount_key = k.amount_key AND s.number_key = k.number_key)
)
SELECT d.invoice_id, o.invoice_id AS original_invoice_id, d.supplier_id, d.facility,
       d.amount, d.supplier_invoice_number, o.supplier_invoice_number AS original_number,
       d.invoice_date, o.invoice_date AS original_invoice_date,
       d.received_at, o.received_at AS original_received_at, d.approved_by AS person,
       d.approved_at,
       'same supplier and amount as ' || o.invoice_id || ' (number ' || o.supplier_invoice_number
           || ' vs ' || d.supplier_invoice_number || ')'       AS reason
FROM inv d JOIN inv o
  ON o.supplier_id = d.supplier_id AND o.amount_key = d.amount_key AND o.number_key = d.number_key
 AND o.invoice_id <> d.invoice_id
 AND abs(date_diff('day', o.day, d.day)) <= $window_days
 AND (coalesce(o.received_at, TIMESTAMP '9999-01-01'), o.invoice_id)
     < (coalesce(d.received_at, TIMESTAMP '9999-01-01'), d.invoice_id)
WHERE ($facilities IS NULL OR list_contains($facilities, d.facility))
  AND ($invoices IS NULL OR d.invoice_id IN (SELECT unnest($invoices::VARCHAR[]))
                         OR o.invoice_id IN (SELECT unnest($invoices::VARCHAR[])))
ORDER BY d.supplier_id, d.invoice_id;

-- name: bank_change_before_payment
-- A payment released to a supplier within $days after its bank details changed, for at least
-- $min_amount. Amount: the payment's current amount attribute. $suppliers: the suppliers to
-- judge (NULL: all).
WITH changed AS (
    SELECT r.object_id AS supplier_id, e.event_id, e.ts, e.actor,
           e.attributes->>'bank_account_old' AS account_old, e.attributes->>'bank_account_new' AS account_new
    FROM event e JOIN event_object r ON r.event_id = e.event_id
    JOIN object o ON o.object_id = r.object_id AND o.object_type = $supplier
    WHERE e.activity = $bank_change
      AND ($suppliers IS NULL OR r.object_id IN (SELECT unnest($suppliers::VARCHAR[])))
),
named AS MATERIALIZED (     -- events naming a supplier whose details changed
    SELECT DISTINCT r.event_id FROM event_object r SEMI JOIN changed c ON c.supplier_id = r.object_id
),
released AS (
    SELECT e.event_id, e.ts, e.actor, e.facility,
           min(r.object_id) FILTER (WHERE o.object_type = $supplier) AS supplier_id,
           min(r.object_id) FILTER (WHERE o.object_type = $payment)  AS payment_id,
           min(r.object_id) FILTER (WHERE o.object_type = $invoice)  AS invoice_id
    FROM event e SEMI JOIN named n ON n.event_id = e.event_id
    JOIN event_object r ON r.event_id = e.event_id
    JOIN object o ON o.object_id = r.object_id AND o.object_type IN ($supplier, $payment, $invoice)
    WHERE e.activity = $release_payment
    GROUP BY e.event_id, e.ts, e.actor, e.facility
),
paid AS (
    SELECT p.object_id AS payment_id,
           TRY_CAST(coalesce(arg_max(c.value, c.ts), any_value(p.attributes->'amount'))->>'$' AS DOUBLE) AS amount
    FROM object p SEMI JOIN released x ON x.payment_id = p.object_id
    LEFT JOIN object_change c ON c.object_id = p.object_id AND c.attribute = 'amount'
    GROUP BY p.object_id
)
SELECT x.payment_id, x.invoice_id, x.supplier_id, x.facility, c.actor AS person,
       c.ts AS changed_at, x.ts AS released_at, x.actor AS released_by, p.amount,
       round(date_diff('second', c.ts, x.ts) / 3600.0, 1) AS hours_between,
       c.account_old, c.account_new,
       'bank details changed ' || round(date_diff('second', c.ts, x.ts) / 3600.0, 1)
           || ' h before this payment was released' AS reason
FROM changed c
JOIN released x ON x.supplier_id = c.supplier_id AND x.ts >= c.ts
               AND x.ts <= c.ts + to_days(CAST($days AS INTEGER))
JOIN paid p ON p.payment_id = x.payment_id
WHERE p.amount >= $min_amount
  AND ($facilities IS NULL OR list_contains($facilities, x.facility))
ORDER BY p.amount DESC, x.payment_id;

-- name: master_data_event_keys
-- The events of an object that is no case (master data: a supplier, item or contract), from
-- event_object: every order names them, so this is a long read, asked only for such objects.
SELECT hash(event_id) AS event_key FROM event_object WHERE object_id = $object_id;

-- name: trail_objects
-- The objects one hop from the case: those its events name ($keys: its events' keys) and its O2O
-- links (object_link). Which of them are cases, models/cases.py `lookup` tells.
SELECT unnest(objects) AS object_id FROM event_lookup WHERE event_key IN (SELECT unnest($keys::UBIGINT[]))
UNION    -- by key: filtered inside the scan of one integer column
SELECT linked_id FROM object_link WHERE object_key = hash($object_id) AND object_id = $object_id;

-- name: case_trail
-- Every event of the trail ($keys), in order, with the trail's objects
-- ($objects) it names and the spans that carried it (p2p.event.id); and, as rows of their own,
-- spans that name one of the trail's objects (p2p.object.id) but no event of the trail.
WITH ev AS MATERIALIZED (
    SELECT * FROM event_lookup WHERE event_key IN (SELECT unnest($keys::UBIGINT[])) AND activity IS NOT NULL
),
objs AS (SELECT unnest($objects::VARCHAR[]) AS object_id),
named AS (
    SELECT e.event_id, list(e.object_id ORDER BY e.object_id) AS objects
    FROM (SELECT event_id, unnest(objects) AS object_id FROM ev) e
    SEMI JOIN objs o ON o.object_id = e.object_id
    GROUP BY e.event_id
),
sp AS (      -- span_p2p: the spans' p2p.* keys, kept at load (no JSON parsed here); a semi join
             -- per key, as an OR of the two made DuckDB read both ids of every span
    SELECT s.*, s.event_id AS span_event, s.object_id AS span_object
    FROM (SELECT * FROM span_p2p WHERE event_id IN (SELECT event_id FROM ev)
          UNION     -- spans are distinct (trace_id, span_id): the union is the OR
          SELECT * FROM span_p2p WHERE object_id IN (SELECT object_id FROM objs)) s
),
carried AS (
    SELECT coalesce(span_event, 'span:' || trace_id) AS key, span_event,
           any_value(span_object) AS span_object,
           any_value(event_type) AS event_type,
           count(*) AS spans,
           list(DISTINCT service ORDER BY service) FILTER (WHERE service IS NOT NULL) AS services,
           list(DISTINCT trace_id ORDER BY trace_id) AS trace_ids,
           min(start_time) AS first_span_start, max(end_time) AS last_span_end,
           count(*) FILTER (WHERE status_code = 'ERROR') AS error_spans
    FROM sp GROUP BY ALL
)
SELECT e.ts, e.source_order, e.event_id, e.activity, e.source_system, e.facility, e.actor,
       e.actor_kind, n.objects, c.services, c.trace_ids, coalesce(c.spans, 0) AS spans,
       c.first_span_start, c.last_span_end, coalesce(c.error_spans, 0) AS error_spans
FROM ev e
LEFT JOIN named n ON n.event_id = e.event_id
LEFT JOIN carried c ON c.span_event = e.event_id
UNION ALL
SELECT c.first_span_start, NULL, c.span_event, c.event_type, NULL, NULL, NULL, NULL,
       [c.span_object], c.services, c.trace_ids, c.spans, c.first_span_start, c.last_span_end,
       c.error_spans
FROM carried c
WHERE c.span_event IS NULL OR c.span_event NOT IN (SELECT event_id FROM ev)
ORDER BY 1, 2 NULLS LAST, 3;


-- name: refresh_lookup
-- The events the loads with batch ids in [$first, $last] (NULL: all) brought or related anew,
-- each with every object it names: those it named before (relations are only ever added) and
-- the loads' new ones.
CREATE OR REPLACE TEMP TABLE lookup_new AS
WITH rel AS (
    SELECT event_id, list(object_id) AS objects FROM event_object
    WHERE $first IS NULL OR batch_id BETWEEN $first AND $last
    GROUP BY event_id
),
fresh AS (
    SELECT event_id, activity, ts, source_system, facility, actor, actor_kind, source_order
    FROM event WHERE $first IS NULL OR batch_id BETWEEN $first AND $last
),
ids AS (SELECT event_id, hash(event_id) AS event_key FROM (SELECT event_id FROM rel UNION SELECT event_id FROM fresh)),
stored AS MATERIALIZED (    -- which of them have a row already: the key column alone is read
    SELECT DISTINCT event_key FROM event_lookup WHERE event_key IN (SELECT event_key FROM ids)
),
kept AS (   -- their rows (none, for a load of new events with their relations)
    SELECT * FROM event_lookup WHERE event_key IN (SELECT event_key FROM stored)
)
SELECT i.event_key, i.event_id, i.event_key IN (SELECT event_key FROM stored) AS was_stored,
       coalesce(f.activity, k.activity) AS activity, coalesce(f.ts, k.ts) AS ts,
       coalesce(f.source_system, k.source_system) AS source_system,
       coalesce(f.facility, k.facility) AS facility, coalesce(f.actor, k.actor) AS actor,
       coalesce(f.actor_kind, k.actor_kind) AS actor_kind,
       coalesce(f.source_order, k.source_order) AS source_order,
       list_sort(list_distinct(coalesce(k.objects, []) || coalesce(r.objects, []))) AS objects
FROM ids i
LEFT JOIN fresh f ON f.event_id = i.event_id
LEFT JOIN kept k ON k.event_id = i.event_id
LEFT JOIN rel r ON r.event_id = i.event_id;

-- name: refresh_forget_lookup
DELETE FROM event_lookup
WHERE event_key IN (SELECT event_key FROM lookup_new WHERE was_stored)
  AND event_id IN (SELECT event_id FROM lookup_new WHERE was_stored);

-- name: refresh_keep_lookup
-- Sorted by key, so a load's rows sit together by key (zone maps skip the row groups without it).
INSERT INTO event_lookup BY NAME SELECT * EXCLUDE (was_stored) FROM lookup_new ORDER BY event_key;

-- name: refresh_lookup_done
DROP TABLE IF EXISTS lookup_new;
