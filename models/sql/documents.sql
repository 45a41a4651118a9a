-- The current state of each P2P document, one table-shaped query per document type.
-- An attribute's current value is its latest value in object_change, else the value the object
-- was first seen with (object.attributes). Values from different systems arrive in their own
-- formats: dates are read as ISO (2025-07-30), US (07/30/2025) or European (30.07.2025).
-- Relations: object_object in either direction; an invoice line is tied to a PO line by O2O, or
-- else by an event that touches exactly one invoice line and one PO line.
-- Parameters: object types and activities from models/vocabulary.py ($po_line, $purchase_order,
-- $requisition, $supplier, $invoice, $invoice_line, $create_po, $goods_receipt_activity,
-- $return_activity, $receive_invoice, $match_invoice, $approve_invoice).
-- The derive_* blocks fill the tables po_lines, receipts, invoice_lines and invoices
-- (schema.sql) for the documents in document_scope (kind, object_id), a temporary table that
-- models/documents.py `refresh` fills with what a load touched (`rebuild`: every document);
-- match.sql, audit.sql and kpis.sql read those tables. derive_invoices reads po_lines, so it
-- runs after derive_po_lines.

-- name: scoped_po_line
-- The PO lines in document_scope, for the derive_* blocks that read them by name. The scope is
-- joined, not tested with IN beside the type filter (that plans as a mark join over every line).
SELECT o.object_id, o.attributes FROM object o
SEMI JOIN (SELECT object_id FROM document_scope WHERE kind = 'po_line') s ON s.object_id = o.object_id
WHERE o.object_type = $po_line;

-- name: scoped_line_order
-- Each scoped PO line's order: O2O either way, a scan per direction (a union of object_object
-- both ways read by several clauses would be stored whole).
SELECT r.a AS po_line_id, min(r.b) AS po_id
FROM (SELECT source_id AS a, target_id AS b FROM object_object SEMI JOIN scoped_po_line l ON l.object_id = source_id
      UNION ALL
      SELECT target_id, source_id FROM object_object SEMI JOIN scoped_po_line l ON l.object_id = target_id) r
JOIN object o ON o.object_id = r.b AND o.object_type = $purchase_order
GROUP BY ALL;

-- name: derive_po_lines
WITH line AS (SELECT * FROM scoped_po_line),
latest AS (
    SELECT c.object_id, c.attribute, arg_max(c.value, c.ts) AS value
    FROM scope_change c SEMI JOIN line l ON l.object_id = c.object_id
    WHERE c.attribute IN ('quantity', 'unit_price', 'contract_price', 'item', 'unspsc')
    GROUP BY ALL
),
state AS (
    SELECT l.object_id,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'quantity'),       l.attributes->'quantity')       AS quantity,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'unit_price'),     l.attributes->'unit_price')     AS unit_price,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'contract_price'), l.attributes->'contract_price') AS contract_price,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'item'),           l.attributes->'item')           AS item,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'unspsc'),         l.attributes->'unspsc')         AS unspsc
    FROM line l LEFT JOIN latest v ON v.object_id = l.object_id
    GROUP BY l.object_id, l.attributes
),
line_po AS (SELECT * FROM scoped_line_order),
po_link AS (    -- each PO's supplier and requisition
    SELECT r.a AS po_id,
           min(r.b) FILTER (WHERE o.object_type = $supplier)    AS supplier_id,
           min(r.b) FILTER (WHERE o.object_type = $requisition) AS requisition_id
    FROM (SELECT source_id AS a, target_id AS b FROM object_object SEMI JOIN line_po p ON p.po_id = source_id
          UNION ALL
          SELECT target_id, source_id FROM object_object SEMI JOIN line_po p ON p.po_id = target_id) r
    JOIN object o ON o.object_id = r.b AND o.object_type IN ($supplier, $requisition)
    GROUP BY ALL
),
req AS (
    SELECT o.object_id, o.attributes FROM object o SEMI JOIN po_link p ON p.requisition_id = o.object_id
),
req_change AS MATERIALIZED (
    SELECT c.object_id, c.attribute, c.value, c.ts FROM scope_change c SEMI JOIN req r ON r.object_id = c.object_id
),
requisition AS (
    SELECT r.object_id,
           coalesce(arg_max(c.value, c.ts) FILTER (WHERE c.attribute = 'department'), any_value(r.attributes->'department'))->>'$' AS department,
           coalesce(arg_max(c.value, c.ts) FILTER (WHERE c.attribute = 'flow'),       any_value(r.attributes->'flow'))->>'$'       AS flow
    FROM req r LEFT JOIN req_change c ON c.object_id = r.object_id AND c.attribute IN ('department', 'flow')
    GROUP BY r.object_id
),
po_event AS MATERIALIZED (   -- found by the orders alone, then read for their creation
    SELECT r.object_id AS po_id, r.event_id FROM scope_relation r SEMI JOIN line_po p ON p.po_id = r.object_id
),
created AS (    -- the order's creation: when, where, by whom
    SELECT r.po_id, arg_min(e.facility, e.ts) AS facility, min(e.ts) AS created_at,
           arg_min(e.actor, e.ts) AS created_by
    FROM event e JOIN po_event r ON r.event_id = e.event_id
    WHERE e.activity = $create_po
    GROUP BY ALL
)
SELECT s.object_id                                          AS po_line_id,
       lp.po_id,
       regexp_extract(s.object_id, '[-/](\d+)$', 1)         AS line_no,
       s.item->>'$'                                         AS item,
       s.unspsc->>'$'                                       AS unspsc,
       TRY_CAST(s.quantity->>'$' AS DOUBLE)                 AS quantity,
       TRY_CAST(s.unit_price->>'$' AS DOUBLE)               AS unit_price,
       TRY_CAST(s.contract_price->>'$' AS DOUBLE)           AS contract_price,
       pl.supplier_id,
       c.facility,
       rq.department,
       rq.flow,
       c.created_at,
       c.created_by
FROM state s
LEFT JOIN line_po lp     ON lp.po_line_id = s.object_id
LEFT JOIN po_link pl     ON pl.po_id = lp.po_id
LEFT JOIN requisition rq ON rq.object_id = pl.requisition_id
LEFT JOIN created c      ON c.po_id = lp.po_id;

-- name: derive_receipts
-- Per PO line: what was received. ERP goods movements record the moved quantity on the line
-- (received_quantity: positive for a receipt, negative for a return), so the received quantity
-- is their sum. A receipt event that names the order but none of its lines (an implant usage
-- logged by the procurement platform) receipts the whole order: order_receipts.
WITH line_po AS (SELECT * FROM scoped_line_order),
moved AS (
    SELECT c.object_id AS po_line_id, sum(TRY_CAST(c.value->>'$' AS DOUBLE)) AS received_quantity
    FROM scope_change c SEMI JOIN line_po l ON l.po_line_id = c.object_id
    WHERE c.attribute = 'received_quantity'
    GROUP BY ALL
),
receipt_event AS (   -- of the lines in scope and their orders
    SELECT e.event_id, e.activity, e.ts FROM event e
    SEMI JOIN (SELECT r.event_id FROM scope_relation r
               SEMI JOIN (SELECT po_line_id AS object_id FROM line_po UNION ALL SELECT po_id FROM line_po) x
                 ON x.object_id = r.object_id) r ON r.event_id = e.event_id
    WHERE e.activity IN ($goods_receipt_activity, $return_activity)
),
touched AS (
    SELECT re.event_id, re.activity, re.ts, r.object_id, o.object_type
    FROM receipt_event re JOIN scope_relation r ON r.event_id = re.event_id
    JOIN object o ON o.object_id = r.object_id AND o.object_type IN ($po_line, $purchase_order)
),
line_events AS (
    SELECT object_id AS po_line_id,
           count(DISTINCT event_id) FILTER (WHERE activity = $goods_receipt_activity) AS goods_receipts,
           count(DISTINCT event_id) FILTER (WHERE activity = $return_activity)        AS returns,
           min(ts) FILTER (WHERE activity = $goods_receipt_activity)                  AS first_receipt_at,
           max(ts) FILTER (WHERE activity = $goods_receipt_activity)                  AS last_receipt_at
    FROM touched WHERE object_type = $po_line
    GROUP BY ALL
),
order_events AS (   -- receipts of a whole order: the event names the order but no line
    SELECT t.object_id AS po_id, count(DISTINCT t.event_id) AS order_receipts, min(t.ts) AS first_order_receipt_at
    FROM touched t
    WHERE t.object_type = $purchase_order AND t.activity = $goods_receipt_activity
      AND NOT EXISTS (SELECT 1 FROM touched x WHERE x.event_id = t.event_id AND x.object_type = $po_line)
    GROUP BY ALL
)
SELECT l.po_line_id, l.po_id,
       coalesce(m.received_quantity, 0)                 AS received_quantity,
       coalesce(le.goods_receipts, 0)                   AS goods_receipts,
       coalesce(le.returns, 0)                          AS returns,
       coalesce(oe.order_receipts, 0)                   AS order_receipts,
       least(le.first_receipt_at, oe.first_order_receipt_at) AS first_receipt_at,
       le.last_receipt_at
FROM line_po l
LEFT JOIN moved m        ON m.po_line_id = l.po_line_id
LEFT JOIN line_events le ON le.po_line_id = l.po_line_id
LEFT JOIN order_events oe ON oe.po_id = l.po_id;

-- name: derive_invoice_lines
WITH line AS (
    SELECT o.object_id, o.attributes FROM object o
    SEMI JOIN (SELECT object_id FROM document_scope WHERE kind = 'invoice_line') s ON s.object_id = o.object_id
    WHERE o.object_type = $invoice_line
),
latest AS (
    SELECT c.object_id, c.attribute, arg_max(c.value, c.ts) AS value
    FROM scope_change c SEMI JOIN line l ON l.object_id = c.object_id
    WHERE c.attribute IN ('quantity', 'unit_price', 'line_amount')
    GROUP BY ALL
),
state AS (
    SELECT l.object_id,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'quantity'),    l.attributes->'quantity')    AS quantity,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'unit_price'),  l.attributes->'unit_price')  AS unit_price,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'line_amount'), l.attributes->'line_amount') AS line_amount
    FROM line l LEFT JOIN latest v ON v.object_id = l.object_id
    GROUP BY l.object_id, l.attributes
),
o2o AS (
    SELECT r.a, r.b, o.object_type
    FROM (SELECT source_id AS a, target_id AS b FROM object_object SEMI JOIN line ON line.object_id = source_id
          UNION ALL
          SELECT target_id, source_id FROM object_object SEMI JOIN line ON line.object_id = target_id) r
    JOIN object o ON o.object_id = r.b AND o.object_type IN ($invoice, $po_line)
),
line_event AS MATERIALIZED (    -- the lines' events, found by the lines alone
    SELECT DISTINCT r.event_id FROM scope_relation r SEMI JOIN line ON line.object_id = r.object_id
),
pair_event AS (     -- events touching exactly one invoice line and one PO line link the two
    SELECT r.event_id,
           min(r.object_id) FILTER (WHERE o.object_type = $invoice_line) AS invoice_line_id,
           min(r.object_id) FILTER (WHERE o.object_type = $po_line)      AS po_line_id
    FROM (SELECT r.event_id, r.object_id FROM scope_relation r SEMI JOIN line_event e ON e.event_id = r.event_id) r
    JOIN object o ON o.object_id = r.object_id
    WHERE o.object_type IN ($invoice_line, $po_line)
    GROUP BY r.event_id
    HAVING count(DISTINCT r.object_id) FILTER (WHERE o.object_type = $invoice_line) = 1
       AND count(DISTINCT r.object_id) FILTER (WHERE o.object_type = $po_line) = 1
),
link AS (
    SELECT l.object_id AS invoice_line_id,
           min(x.b) FILTER (WHERE x.object_type = $invoice) AS invoice_id,
           min(x.b) FILTER (WHERE x.object_type = $po_line) AS po_line_id
    FROM line l LEFT JOIN o2o x ON x.a = l.object_id
    GROUP BY ALL
)
SELECT s.object_id                                     AS invoice_line_id,
       k.invoice_id,
       coalesce(k.po_line_id, (SELECT min(p.po_line_id) FROM pair_event p
                               WHERE p.invoice_line_id = s.object_id)) AS po_line_id,
       TRY_CAST(s.quantity->>'$' AS DOUBLE)            AS quantity,
       TRY_CAST(s.unit_price->>'$' AS DOUBLE)          AS unit_price,
       TRY_CAST(s.line_amount->>'$' AS DOUBLE)         AS line_amount
FROM state s LEFT JOIN link k ON k.invoice_line_id = s.object_id;

-- name: derive_invoices
-- The AP platform's verdict is that of its latest Match Invoice event (match_result,
-- exception_reason, match_type). Supplier: the supplier the invoice's own events name, else its
-- order's. Department: the order's (its requisition's), else the AP platform's. Category: the
-- UNSPSC segment of the order's first line. The moments of its steps, the AP verdicts, blocks
-- and routing come from its events; touches: events on the invoice by a person from its first
-- receipt to its last approval, the approval itself left out (keying in a paper invoice counts).
-- number_key: the supplier's invoice number as duplicate checks compare it (letters and digits
-- only, lower case, a leading "inv"/"in" dropped, leading zeros of the number dropped).
-- Terms: "2/10 Net 30", "2/10NT30", "2% 10 Net 30", "Net 45", "NT45" -> discount pct, days, net days.
WITH inv AS (
    SELECT o.object_id, o.attributes FROM object o
    SEMI JOIN (SELECT object_id FROM document_scope WHERE kind = 'invoice') s ON s.object_id = o.object_id
    WHERE o.object_type = $invoice
),
latest AS (
    SELECT c.object_id, c.attribute, arg_max(c.value, c.ts) AS value
    FROM scope_change c SEMI JOIN inv i ON i.object_id = c.object_id
    WHERE c.attribute IN ('supplier_invoice_number', 'amount', 'invoice_date', 'due_date', 'payment_terms')
    GROUP BY ALL
),
state AS (
    SELECT i.object_id,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'supplier_invoice_number'), i.attributes->'supplier_invoice_number')->>'$' AS supplier_invoice_number,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'amount'),        i.attributes->'amount')->>'$'        AS amount,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'invoice_date'),  i.attributes->'invoice_date')->>'$'  AS invoice_date,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'due_date'),      i.attributes->'due_date')->>'$'      AS due_date,
           coalesce(max(v.value) FILTER (WHERE v.attribute = 'payment_terms'), i.attributes->'payment_terms')->>'$' AS payment_terms
    FROM inv i LEFT JOIN latest v ON v.object_id = i.object_id
    GROUP BY i.object_id, i.attributes
),
inv_rel AS MATERIALIZED (   -- the invoices' relations, found by the invoices alone
    SELECT r.object_id AS invoice_id, r.event_id FROM scope_relation r SEMI JOIN inv i ON i.object_id = r.object_id
),
inv_event AS (
    SELECT r.invoice_id, e.event_id, e.activity, e.ts, e.facility, e.actor, e.actor_kind, e.attributes
    FROM inv_rel r JOIN event e ON e.event_id = r.event_id
),
ev AS (
    SELECT invoice_id,
           arg_max(attributes, ts) FILTER (WHERE activity = $match_invoice) AS ap_match,
           arg_max(facility, ts)   FILTER (WHERE facility IS NOT NULL)      AS facility,
           arg_max(attributes->>'department', ts) FILTER (WHERE attributes->>'department' IS NOT NULL) AS ap_department,
           min(ts) FILTER (WHERE activity = $receive_invoice)               AS received_at,
           max(ts) FILTER (WHERE activity = $approve_invoice)               AS approved_at,
           arg_max(actor, ts) FILTER (WHERE activity = $approve_invoice)    AS approved_by,
           min(ts) FILTER (WHERE activity = $release_payment)               AS paid_at,
           arg_min(attributes->>'match_result', ts) FILTER (WHERE activity = $match_invoice) AS first_match,
           count(*) FILTER (WHERE activity = $match_invoice)                AS match_events,
           count(*) FILTER (WHERE activity = $flag_exception)               AS exceptions,
           list(ts ORDER BY ts) FILTER (WHERE activity = $block_invoice)    AS block_times,
           list(ts ORDER BY ts) FILTER (WHERE activity = $release_block)    AS release_times,
           arg_max(attributes->>'hold_reason', ts) FILTER (WHERE activity = $block_invoice) AS hold_reason,
           arg_max(attributes->>'routed_to', ts) FILTER (WHERE attributes->>'routed_to' IS NOT NULL)       AS routed_to,
           arg_max(attributes->>'routing_rule', ts) FILTER (WHERE attributes->>'routing_rule' IS NOT NULL) AS routing_rule,
           min(ts)                                                          AS first_event_at
    FROM inv_event GROUP BY ALL
),
touch AS (
    SELECT i.invoice_id, count(DISTINCT i.event_id) AS touches
    FROM inv_event i JOIN ev ON ev.invoice_id = i.invoice_id
    WHERE i.actor_kind = $person AND i.activity <> $approve_invoice
      AND i.ts >= ev.received_at AND i.ts <= ev.approved_at
    GROUP BY ALL
),
named AS (      -- objects the invoice's events or its O2O links name
    SELECT x.invoice_id, o.object_id, o.object_type
    FROM (SELECT i.invoice_id, r.object_id FROM inv_rel i JOIN scope_relation r ON r.event_id = i.event_id
          UNION
          SELECT source_id, target_id FROM object_object SEMI JOIN inv ON inv.object_id = source_id
          UNION
          SELECT target_id, source_id FROM object_object SEMI JOIN inv ON inv.object_id = target_id) x
    JOIN object o ON o.object_id = x.object_id AND o.object_type IN ($supplier, $purchase_order)
),
link AS (
    SELECT invoice_id,
           min(object_id) FILTER (WHERE object_type = $supplier)       AS supplier_id,
           min(object_id) FILTER (WHERE object_type = $purchase_order) AS po_id
    FROM named GROUP BY ALL
),
terms AS (
    SELECT object_id,
           regexp_extract(upper(payment_terms),
                          '^\s*(?:([0-9]+(?:\.[0-9]+)?)\s*%?\s*/?\s*([0-9]+)\s*)?(?:NET|NT|N)\s*([0-9]+)\s*$',
                          ['pct', 'days', 'net']) AS t
    FROM state
),
contract AS (   -- its lines of order lines under a GPO contract (invoice_lines, po_lines: derived just before)
    SELECT il.invoice_id, count(*) AS contract_lines,
           count(*) FILTER (WHERE round(il.unit_price - pl.contract_price, 2) <= 0) AS compliant_lines
    FROM (SELECT * FROM invoice_lines l SEMI JOIN inv ON inv.object_id = l.invoice_id) il
    JOIN po_lines pl ON pl.po_line_id = il.po_line_id
    WHERE pl.contract_price > 0 AND il.unit_price IS NOT NULL
    GROUP BY il.invoice_id
),
po_department AS (
    SELECT po_id, any_value(department) AS department, any_value(supplier_id) AS supplier_id,
           any_value(facility) AS facility, any_value(flow) AS flow,
           min(created_at) AS po_created_at, any_value(created_by) AS po_created_by,
           arg_min(left(unspsc, 2), po_line_id) AS category
    FROM po_lines WHERE po_id IN (SELECT po_id FROM link) GROUP BY ALL
)
SELECT s.object_id                                            AS invoice_id,
       coalesce(k.supplier_id, p.supplier_id)                 AS supplier_id,
       s.supplier_invoice_number,
       regexp_replace(
           regexp_replace(lower(regexp_replace(s.supplier_invoice_number, '[^A-Za-z0-9]', '', 'g')),
                          '^(inv|in)([0-9])', '\2'),
           '^([a-z]*)0+([0-9])', '\1\2')                      AS number_key,
       TRY_CAST(s.amount AS DOUBLE)                           AS amount,
       coalesce(try_strptime(s.invoice_date, '%Y-%m-%d'), try_strptime(s.invoice_date, '%m/%d/%Y'),
                try_strptime(s.invoice_date, '%d.%m.%Y'))::DATE AS invoice_date,
       coalesce(try_strptime(s.due_date, '%Y-%m-%d'), try_strptime(s.due_date, '%m/%d/%Y'),
                try_strptime(s.due_date, '%d.%m.%Y'))::DATE     AS due_date,
       s.payment_terms,
       ev.ap_match->>'match_result'                           AS ap_match_result,
       nullif(ev.ap_match->>'exception_reason', '')           AS ap_exception_reason,
       ev.ap_match->>'match_type'                             AS ap_match_type,
       k.po_id,
       coalesce(ev.facility, p.facility)                      AS facility,
       coalesce(p.department, ev.ap_department)               AS department,
       p.category,
       p.flow,
       p.po_created_at,
       p.po_created_by,
       ev.received_at,
       ev.approved_at,
       ev.approved_by,
       ev.paid_at,
       ev.first_event_at,
       ev.first_match,
       coalesce(ev.match_events, 0)                           AS match_events,
       coalesce(ev.exceptions, 0)                             AS exceptions,
       ev.block_times,
       ev.release_times,
       ev.hold_reason,
       ev.routed_to,
       ev.routing_rule,
       coalesce(t.touches, 0)                                 AS touches,
       TRY_CAST(nullif(tm.t.pct, '') AS DOUBLE)               AS discount_pct,
       TRY_CAST(nullif(tm.t.days, '') AS INTEGER)             AS discount_days,
       TRY_CAST(nullif(tm.t.net, '') AS INTEGER)              AS net_days,
       coalesce(c.contract_lines, 0)                          AS contract_lines,
       coalesce(c.compliant_lines, 0)                         AS compliant_lines
FROM state s
LEFT JOIN terms tm       ON tm.object_id = s.object_id
LEFT JOIN ev             ON ev.invoice_id = s.object_id
LEFT JOIN touch t        ON t.invoice_id = s.object_id
LEFT JOIN link k         ON k.invoice_id = s.object_id
LEFT JOIN po_department p ON p.po_id = k.po_id
LEFT JOIN contract c     ON c.invoice_id = s.object_id

-- name: derive_match_exceptions
-- One row per match exception: the exception object its Flag Match Exception names (else the
-- invoice), its invoice, when it was first flagged and first resolved; from the events that name
-- the exceptions and invoices in scope.
WITH scope_event AS MATERIALIZED (    -- found by the documents in scope alone
    SELECT DISTINCT r.event_id FROM scope_relation r
    SEMI JOIN (SELECT object_id FROM document_scope WHERE kind IN ('exception', 'invoice')) s ON s.object_id = r.object_id
),
flag_event AS (
    SELECT e.event_id, e.ts, e.activity FROM event e SEMI JOIN scope_event s ON s.event_id = e.event_id
    WHERE e.activity IN ($flag_exception, $resolve_exception)
),
ex AS (
    SELECT e.event_id, any_value(e.ts) AS ts, any_value(e.activity) AS activity,
           min(r.object_id) FILTER (WHERE o.object_type = $exception) AS exception_id,
           min(r.object_id) FILTER (WHERE o.object_type = $invoice)   AS invoice_id
    FROM flag_event e JOIN scope_relation r ON r.event_id = e.event_id
    JOIN object o ON o.object_id = r.object_id AND o.object_type IN ($exception, $invoice)
    GROUP BY e.event_id
)
SELECT coalesce(exception_id, invoice_id)                         AS exception_id,
       any_value(invoice_id)                                      AS invoice_id,
       min(ts) FILTER (WHERE activity = $flag_exception)          AS flagged_at,
       min(ts) FILTER (WHERE activity = $resolve_exception)       AS first_resolved_at
FROM ex
GROUP BY 1;

-- name: refresh_touched
-- The documents (and the orders, requisitions and suppliers they are read through) that the loads
-- with batch ids in [$first, $last] may have changed: an object arriving, a new attribute value,
-- a new relation, a new event of an old relation: the objects the loads touched (touched_object,
-- found once per catch-up by models/store.py) and those with a new attribute value (read by
-- batch id alone: zone maps skip all but the loads' row groups). (O2O links carry no load id;
-- they arrive with the events or objects of the record that states them, which this catches.)
CREATE OR REPLACE TEMP TABLE document_touched AS
SELECT DISTINCT t.object_id, o.object_type, o.batch_id BETWEEN $first AND $last AS arrived
FROM (
    SELECT object_id FROM touched_object
    UNION ALL
    SELECT object_id FROM object_change WHERE batch_id BETWEEN $first AND $last
) t JOIN object o ON o.object_id = t.object_id
WHERE o.object_type IN ($po_line, $purchase_order, $requisition, $supplier, $invoice, $invoice_line, $exception,
                        $payment);   -- payments: for the bank-change control (models/controls.py)

-- name: scope_start
-- Which rows to derive again is found in steps (models/documents.py SCOPE_STEPS), each adding the
-- objects of one type that a step's objects lead to, into document_step (step, object_id); this
-- seeds the steps with what the loads touched. Every step keeps objects of the one type it stands
-- for: an order's O2O neighbours include its supplier and contract, whose neighbours are every
-- order of theirs, so an untyped step would re-derive most of the store after a small load.
CREATE OR REPLACE TEMP TABLE document_step AS
SELECT s.step, t.object_id
FROM document_touched t
JOIN (VALUES ('po',        $purchase_order, false),
             ('po_from',   $requisition,    false),   -- their orders' lines read them
             ('po_from',   $supplier,       true),    -- one that just arrived
             ('line',      $po_line,        false),
             ('line_touched', $po_line,     false),
             ('line_from', $po_line,        false),   -- invoice lines are read through these
             ('line_from', $invoice,        false),
             ('inv_via',   $supplier,       true),    -- invoices read these
             ('inv_line',  $invoice_line,   false),
             ('inv_from',  $invoice_line,   false),   -- an invoice reads its lines
             ('inv',       $invoice,        false),
             ('exc',       $exception,      false),
             ('payment',   $payment,        false)) s(step, object_type, arrived_only)
  ON s.object_type = t.object_type AND (t.arrived OR NOT s.arrived_only);

-- name: scope_copy
INSERT INTO document_step SELECT $into, object_id FROM document_step WHERE step = $from;

-- name: scope_o2o
-- The objects of type $type tied by O2O, either way, to the objects of step $from, into step $into.
-- One scan of object_object per direction (a union of the whole table both ways would be stored).
INSERT INTO document_step
SELECT $into, o.object_id FROM object o SEMI JOIN (
    SELECT r.target_id AS object_id FROM object_object r
    SEMI JOIN (SELECT object_id FROM document_step WHERE step = $from) f ON f.object_id = r.source_id
    UNION ALL
    SELECT r.source_id FROM object_object r
    SEMI JOIN (SELECT object_id FROM document_step WHERE step = $from) f ON f.object_id = r.target_id
) n ON n.object_id = o.object_id
WHERE o.object_type = $type;

-- name: scope_events
-- The objects of type $type that share an event with the objects of step $from, into step $into.
-- What those events name is read from event_lookup by key (the relations of earlier loads; a key
-- scan, not a scan of event_object's ids) and from the relations the loads [$first, $last] stored.
INSERT INTO document_step
WITH step_event AS MATERIALIZED (
    SELECT DISTINCT r.event_id FROM event_object r
    SEMI JOIN (SELECT object_id FROM document_step WHERE step = $from) f ON f.object_id = r.object_id
),
named AS (
    SELECT unnest(l.objects) AS object_id FROM event_lookup l
    SEMI JOIN step_event e ON hash(e.event_id) = l.event_key
    UNION ALL
    SELECT r.object_id FROM event_object r SEMI JOIN step_event e ON e.event_id = r.event_id
    WHERE r.batch_id BETWEEN $first AND $last
)
SELECT $into, o.object_id FROM object o SEMI JOIN named n ON n.object_id = o.object_id
WHERE o.object_type = $type;

-- name: scope_relations
-- The relations the derive_* blocks read (scope_relation: event_id, object_id): every relation of
-- an event of a document in scope or of a scoped PO line's order. Two scans of event_object here
-- instead of one or two in each block; `rebuild` reads event_object whole in its place (all_reads).
CREATE OR REPLACE TEMP TABLE scope_relation AS
WITH scoped_event AS MATERIALIZED (
    SELECT DISTINCT r.event_id FROM event_object r
    SEMI JOIN (SELECT object_id FROM document_step WHERE step IN ('line', 'line_po', 'inv_line', 'inv', 'exc')) s
      ON s.object_id = r.object_id
)
SELECT r.event_id, r.object_id FROM event_object r SEMI JOIN scoped_event e ON e.event_id = r.event_id;

-- name: scope_changes
-- The attribute changes the derive_* blocks read (scope_change): of the documents in scope and of
-- their orders' requisitions. One scan of object_change here instead of one per block.
CREATE OR REPLACE TEMP TABLE scope_change AS
SELECT c.object_id, c.ts, c.attribute, c.value FROM object_change c
SEMI JOIN (SELECT object_id FROM document_step WHERE step IN ('line', 'inv_line', 'inv', 'req')) s
  ON s.object_id = c.object_id;

-- name: scope_reads_done
DROP TABLE IF EXISTS scope_relation;
DROP TABLE IF EXISTS scope_change;

-- name: all_reads
CREATE OR REPLACE TEMP VIEW scope_relation AS SELECT event_id, object_id FROM event_object;
CREATE OR REPLACE TEMP VIEW scope_change AS SELECT object_id, ts, attribute, value FROM object_change;

-- name: all_reads_done
DROP VIEW IF EXISTS scope_relation;
DROP VIEW IF EXISTS scope_change;

-- name: scope_done
CREATE OR REPLACE TEMP TABLE document_scope AS
-- (kind 'supplier': the suppliers paid by the payments touched, for models/controls.py)
SELECT DISTINCT CASE step WHEN 'line' THEN 'po_line' WHEN 'inv_line' THEN 'invoice_line'
                          WHEN 'inv' THEN 'invoice' WHEN 'paid' THEN 'supplier' ELSE 'exception' END AS kind, object_id
FROM document_step WHERE step IN ('line', 'inv_line', 'inv', 'exc', 'paid');
DROP TABLE document_step;

-- name: rebuild_scope
CREATE OR REPLACE TEMP TABLE document_scope AS
SELECT CASE object_type WHEN $po_line THEN 'po_line' WHEN $invoice_line THEN 'invoice_line'
                        WHEN $exception THEN 'exception' ELSE 'invoice' END AS kind, object_id
FROM object WHERE object_type IN ($po_line, $invoice_line, $invoice, $exception);

-- name: no_scope
CREATE OR REPLACE TEMP TABLE document_scope (kind VARCHAR, object_id VARCHAR);

-- name: forget_po_lines
DELETE FROM po_lines WHERE po_line_id IN (SELECT object_id FROM document_scope WHERE kind = 'po_line');

-- name: forget_receipts
DELETE FROM receipts WHERE po_line_id IN (SELECT object_id FROM document_scope WHERE kind = 'po_line');

-- name: forget_invoice_lines
DELETE FROM invoice_lines WHERE invoice_line_id IN (SELECT object_id FROM document_scope WHERE kind = 'invoice_line');

-- name: forget_invoices
DELETE FROM invoices WHERE invoice_id IN (SELECT object_id FROM document_scope WHERE kind = 'invoice');

-- name: forget_match_exceptions
DELETE FROM match_exceptions
WHERE exception_id IN (SELECT object_id FROM document_scope WHERE kind IN ('exception', 'invoice'));

-- name: refresh_done
DROP TABLE IF EXISTS document_touched;
DROP TABLE IF EXISTS document_scope;
