-- KPIs: per-case facts, one block per KPI (named by its id in models/kpis.py), aggregated per
-- group and period by `measure`. Every KPI block yields the same columns:
--   case_id, facility, supplier, department, category, counted_at (when the case counts), x, d
-- where x is the measured value (or the numerator of a rate) and d the denominator (1 per case).
-- They read the current documents (documents.sql: invoices, po_lines, invoice_lines as relations)
-- and the events; activities and object types are bound from models/vocabulary.py.
-- Category: the UNSPSC segment (first two digits) of the order's first line.
-- $as_of: the moment "now" means for states (open exceptions, blocks, lost discounts); NULL is
-- the last event in the store that is not flagged as a timestamp outlier (event_daily, kept at load).

-- name: now_ts
SELECT coalesce($as_of::TIMESTAMP, (SELECT max(last_ts) FROM event_daily WHERE NOT outlier)) AS as_of;

-- name: inv_fact
-- One row per invoice (the invoices table: dimensions, amounts, dates, the moments of its steps,
-- touches, terms), with what depends on $as_of: blocked_at, the latest Block Invoice by then
-- that no Release Invoice Block by then followed.
SELECT invoice_id, po_id, facility, supplier_id AS supplier, department, category,
       amount, invoice_date, due_date, flow, po_created_at, ap_exception_reason,
       received_at, approved_at, paid_at, first_match, match_events,
       exceptions, first_event_at,
       CASE WHEN last_block IS NOT NULL AND (last_release IS NULL OR last_release < last_block)
            THEN last_block END                                     AS blocked_at,
       coalesce(hold_reason, ap_exception_reason)                  AS block_reason,
       routed_to, routing_rule, touches, discount_pct, discount_days, net_days,
       contract_lines, compliant_lines
FROM (  -- no join: a block needs only the invoice's own lists (and a KPI that never asks pays nothing)
    SELECT i.*,
           list_max(list_filter(i.block_times, lambda t: t <= n.as_of))   AS last_block,
           list_max(list_filter(i.release_times, lambda t: t <= n.as_of)) AS last_release
    FROM invoices i, now_ts n
);

-- name: exc_fact
-- One row per match exception (the match_exceptions table), resolved only if by $as_of.
SELECT x.exception_id, x.invoice_id, x.flagged_at,
       CASE WHEN x.first_resolved_at <= n.as_of THEN x.first_resolved_at END AS resolved_at,
       n.as_of
FROM match_exceptions x, now_ts n;

-- name: exceptions_open
-- Exceptions flagged by $as_of and not resolved by then, with their age in calendar days.
SELECT x.exception_id, x.invoice_id, f.facility, f.supplier, f.department, f.category, f.amount,
       x.flagged_at, date_diff('day', x.flagged_at::DATE, x.as_of::DATE) AS age_days,
       f.routed_to, f.routing_rule, f.ap_exception_reason AS reason
FROM exc_fact x LEFT JOIN inv_fact f ON f.invoice_id = x.invoice_id
WHERE x.flagged_at <= x.as_of AND x.resolved_at IS NULL;

-- name: cycle_time
SELECT invoice_id AS case_id, facility, supplier, department, category, paid_at AS counted_at,
       date_diff('second', received_at, paid_at) / 86400.0 AS x, 1 AS d
FROM inv_fact WHERE received_at IS NOT NULL AND paid_at IS NOT NULL;

-- name: receipt_to_approval
SELECT invoice_id, facility, supplier, department, category, approved_at,
       date_diff('second', received_at, approved_at) / 3600.0, 1
FROM inv_fact WHERE received_at IS NOT NULL AND approved_at IS NOT NULL;

-- name: first_pass_match_rate
-- Of the invoices the AP platform matched: its first verdict was a match and no exception was flagged.
SELECT invoice_id, facility, supplier, department, category, received_at,
       CASE WHEN first_match = $ap_matched AND exceptions = 0 THEN 1 ELSE 0 END, 1
FROM inv_fact WHERE match_events > 0;

-- name: touchless_rate
SELECT invoice_id, facility, supplier, department, category, received_at,
       CASE WHEN touches = 0 THEN 1 ELSE 0 END, 1
FROM inv_fact WHERE received_at IS NOT NULL AND approved_at IS NOT NULL;

-- name: manual_touches
SELECT invoice_id, facility, supplier, department, category, received_at, touches, 1
FROM inv_fact WHERE received_at IS NOT NULL AND approved_at IS NOT NULL;

-- name: exception_rate
SELECT invoice_id, facility, supplier, department, category, received_at,
       CASE WHEN exceptions > 0 THEN 1 ELSE 0 END, 1
FROM inv_fact WHERE received_at IS NOT NULL;

-- name: open_exceptions
SELECT exception_id, facility, supplier, department, category, flagged_at, 1, 1
FROM exceptions_open;

-- name: blocked_invoices
SELECT invoice_id, facility, supplier, department, category, blocked_at, 1, 1
FROM inv_fact WHERE blocked_at IS NOT NULL;

-- name: blocked_amount
SELECT invoice_id, facility, supplier, department, category, blocked_at, amount, 1
FROM inv_fact WHERE blocked_at IS NOT NULL;

-- name: on_time_payment_rate
-- Paid (payment released) on the due date or up to $early_days days before it.
SELECT invoice_id, facility, supplier, department, category, paid_at,
       CASE WHEN paid_at::DATE <= due_date AND paid_at::DATE >= due_date - $early_days THEN 1 ELSE 0 END, 1
FROM inv_fact WHERE paid_at IS NOT NULL AND due_date IS NOT NULL;

-- name: late_payment_rate
SELECT invoice_id, facility, supplier, department, category, paid_at,
       CASE WHEN paid_at::DATE > due_date THEN 1 ELSE 0 END, 1
FROM inv_fact WHERE paid_at IS NOT NULL AND due_date IS NOT NULL;

-- name: early_payment_rate
SELECT invoice_id, facility, supplier, department, category, paid_at,
       CASE WHEN paid_at::DATE < due_date - $early_days THEN 1 ELSE 0 END, 1
FROM inv_fact WHERE paid_at IS NOT NULL AND due_date IS NOT NULL;

-- name: discount_captured
-- Terms with an early-payment discount (2/10 net 30): paid within the discount days of the invoice date.
SELECT invoice_id, facility, supplier, department, category, paid_at,
       round(amount * discount_pct / 100, 2), 1
FROM inv_fact
WHERE discount_pct > 0 AND paid_at::DATE <= invoice_date + discount_days;

-- name: discount_lost
-- Paid after the discount window, or unpaid when the window closed before $as_of; counted when the window closed.
SELECT f.invoice_id, f.facility, f.supplier, f.department, f.category,
       coalesce(f.paid_at, (f.invoice_date + f.discount_days + 1)::TIMESTAMP),
       round(f.amount * f.discount_pct / 100, 2), 1
FROM inv_fact f, now_ts n
WHERE f.discount_pct > 0
  AND (f.paid_at::DATE > f.invoice_date + f.discount_days
       OR (f.paid_at IS NULL AND n.as_of::DATE > f.invoice_date + f.discount_days));

-- name: duplicate_payments
-- Pairs of duplicate invoices (audit.duplicate_invoices, as control_findings keeps them) both paid.
WITH pair AS (
    SELECT invoice_id AS duplicate_id, original_invoice_id AS original_id
    FROM control_findings WHERE control = 'duplicate_invoices'
)
SELECT d.invoice_id, d.facility, d.supplier, d.department, d.category, d.paid_at, 1, 1
FROM pair p JOIN inv_fact d ON d.invoice_id = p.duplicate_id
JOIN inv_fact o ON o.invoice_id = p.original_id
WHERE d.paid_at IS NOT NULL AND o.paid_at IS NOT NULL;

-- name: after_the_fact_rate
-- Of the invoiced orders that are not bill-only: those audit.po_after_invoice lists (as
-- control_findings keeps them).
WITH po AS (
    SELECT po_id, any_value(facility) AS facility, any_value(supplier) AS supplier,
           any_value(department) AS department, any_value(category) AS category,
           min(po_created_at) AS created_at
    FROM inv_fact
    WHERE po_id IS NOT NULL AND po_created_at IS NOT NULL AND flow IS DISTINCT FROM $bill_only
    GROUP BY po_id
)
SELECT po_id, facility, supplier, department, category, created_at,
       CASE WHEN po_id IN (SELECT po_id FROM control_findings WHERE control = 'po_after_invoice')
            THEN 1 ELSE 0 END, 1
FROM po;

-- name: contract_compliance
-- Invoice lines of order lines under a GPO contract: priced at or below the contract price
-- (counted per invoice in the invoices table: x of its d such lines).
SELECT invoice_id, facility, supplier, department, category, received_at, compliant_lines, contract_lines
FROM inv_fact WHERE contract_lines > 0;

-- name: supplier_onboarding
-- Create Supplier to Complete Supplier Onboarding, in days, counted when onboarding completed
-- (the steps per supplier: onboarding_steps, looked up beforehand).
WITH s AS (
    SELECT unnest($onboarded_suppliers::VARCHAR[]) AS supplier,
           unnest($created_ats::TIMESTAMP[])       AS created_at,
           unnest($onboarded_ats::TIMESTAMP[])     AS onboarded_at
)
SELECT supplier, NULL::VARCHAR, supplier, NULL::VARCHAR, NULL::VARCHAR, onboarded_at,
       date_diff('second', created_at, onboarded_at) / 86400.0, 1
FROM s;

-- name: onboarding_event_keys
SELECT event_key FROM event_lookup WHERE activity IN ($create_supplier, $complete_onboarding);

-- name: onboarding_steps
-- Per supplier its onboarding events name ($keys: theirs, found in event_lookup by key): when it
-- was created and when its onboarding completed (first of each).
WITH ev AS MATERIALIZED (    -- the key list alone: zone maps skip the row groups without them
    SELECT ts, activity, objects FROM event_lookup WHERE event_key IN (SELECT unnest($keys::UBIGINT[]))
)
SELECT o.supplier, min(o.ts) FILTER (WHERE o.activity = $create_supplier)       AS created_at,
       min(o.ts) FILTER (WHERE o.activity = $complete_onboarding)               AS onboarded_at
FROM (SELECT ts, activity, unnest(objects) AS supplier FROM ev) o
SEMI JOIN dimension_value d ON d.dimension = 'supplier' AND d.value = o.supplier
GROUP BY o.supplier
HAVING created_at IS NOT NULL AND onboarded_at IS NOT NULL
ORDER BY o.supplier;

-- name: sync_lag_p95
SELECT event_id || '>' || target_system, facility, supplier, NULL::VARCHAR, NULL::VARCHAR,
       event_time, lag_s / 3600.0, 1
FROM sync_hop WHERE commit_time IS NOT NULL;

-- name: audit_traceability
-- Whether each invoice case is traceable (invoice_traceability, kept at load: see
-- derive_traceability). Counted at the case's first event.
SELECT t.invoice_id, f.facility, f.supplier, f.department, f.category, t.started_at,
       CASE WHEN t.complete AND t.traced THEN 1 ELSE 0 END, 1
FROM invoice_traceability t LEFT JOIN inv_fact f ON f.invoice_id = t.invoice_id;

-- name: traceability_scope
-- The invoice cases the loads with batch ids in [$first, $last] may have changed: those the
-- documents refresh found touched (its temp table document_touched), and those with an event
-- whose commit into a system a span of the loads carried.
CREATE OR REPLACE TEMP TABLE traceability_scope AS
SELECT object_id AS invoice_id FROM document_touched WHERE object_type = $invoice
UNION
SELECT c.case_id FROM case_event c
WHERE c.object_type = $invoice
  AND c.event_id IN (SELECT h.event_id FROM sync_hop h
                     WHERE h.trace_id IN (SELECT trace_id FROM span WHERE batch_id BETWEEN $first AND $last));

-- name: traceability_every
CREATE OR REPLACE TEMP TABLE traceability_scope AS
SELECT DISTINCT case_id AS invoice_id FROM case_event WHERE object_type = $invoice;

-- name: forget_traceability
DELETE FROM invoice_traceability WHERE invoice_id IN (SELECT invoice_id FROM traceability_scope);

-- name: derive_traceability
-- An invoice case is traceable when every event of it (case_event) has an actor, a time and a
-- source system, and every hop between systems — consecutive events in different source systems —
-- was carried by traced integration traffic: the earlier event has a committed sync_hop into the
-- later event's system. For the cases in traceability_scope.
INSERT INTO invoice_traceability BY NAME
WITH step AS (
    SELECT c.case_id, c.position, c.ts, e.event_id, e.source_system,
           (nullif(trim(e.actor), '') IS NOT NULL AND e.ts IS NOT NULL
            AND nullif(trim(e.source_system), '') IS NOT NULL) AS complete
    FROM case_event c JOIN event e ON e.event_id = c.event_id
    WHERE c.object_type = $invoice AND c.case_id IN (SELECT invoice_id FROM traceability_scope)
),
ev AS (     -- each event with the next one's system (positions run 1, 2, … per case: a join, no sort)
    SELECT s.*, n.source_system AS next_system
    FROM step s LEFT JOIN step n ON n.case_id = s.case_id AND n.position = s.position + 1
)
SELECT ev.case_id AS invoice_id, min(ev.ts) AS started_at,
       bool_and(ev.complete) AS complete,
       bool_and(ev.next_system IS NULL OR ev.next_system = ev.source_system
                OR h.commit_time IS NOT NULL) AS traced
FROM ev LEFT JOIN sync_hop h ON h.event_id = ev.event_id AND h.target_system = ev.next_system
GROUP BY ev.case_id;

-- name: traceability_done
DROP TABLE IF EXISTS traceability_scope;

-- name: measure
-- `facts`: the union of the asked KPIs' blocks, each row labelled with its id (kpi) and how the
-- KPI aggregates (agg: mean of x, rate = sum x / sum d, p95 of x, or sum of x), composed by
-- models/kpis.py (a union of all twenty costs more to plan than most of them take to run).
-- The facts per KPI, group ($by: facility | supplier | department | category | NULL) and period
-- ($period: day | week | month | quarter | NULL): `grouped`, or, composed in its place,
-- `grouped_apart`. Filters apply to the dimensions a KPI has ($dims_<dimension>: the KPIs that
-- have it) and to `counted_at` (period, days inclusive).
SELECT kpi, grp AS "group", period,
       CASE agg WHEN 'mean' THEN mean WHEN 'rate' THEN total / nullif(den, 0)
                WHEN 'p95' THEN p95 ELSE total END                   AS value,
       CASE WHEN agg = 'rate' THEN total END                        AS numerator,
       CASE WHEN agg = 'rate' THEN den END                          AS denominator,
       cases
FROM grouped
ORDER BY list_position($kpis, kpi), "group" NULLS FIRST, period NULLS FIRST;

-- name: kpi_rows
-- The facts the filters keep, with their group and period. $apart: kept for `grouped_apart`,
-- which leaves out per grouping what the other keeps.
SELECT kpi, x, d, agg,
       CASE $by WHEN 'facility' THEN facility WHEN 'supplier' THEN supplier
                WHEN 'department' THEN department WHEN 'category' THEN category END AS grp,
       CASE WHEN $period IS NOT NULL THEN date_trunc($period, counted_at)::DATE END       AS period
FROM facts
WHERE ($start IS NULL OR counted_at >= $start::TIMESTAMP)
  AND ($end IS NULL OR counted_at < ($end::DATE + 1)::TIMESTAMP)
  AND ($facilities IS NULL OR NOT list_contains($dims_facility, kpi) OR list_contains($facilities, facility))
  AND ($suppliers IS NULL OR NOT list_contains($dims_supplier, kpi) OR list_contains($suppliers, supplier))
  AND ($departments IS NULL OR NOT list_contains($dims_department, kpi) OR list_contains($departments, department))
  AND ($categories IS NULL OR NOT list_contains($dims_category, kpi) OR list_contains($categories, category))
  AND ($apart OR $by IS NULL OR list_contains($dims_by, kpi))
  AND ($apart OR $period IS NULL OR counted_at IS NOT NULL);

-- name: grouped
-- Per KPI, group and period.
SELECT kpi, grp, period, any_value(agg) AS agg,
       avg(x) AS mean, sum(x) AS total, sum(d) AS den, count(x) AS cases,
       quantile_cont(x, 0.95) FILTER (WHERE agg = 'p95') AS p95
FROM kpi_rows GROUP BY kpi, grp, period;

-- name: grouped_apart
-- Per KPI and group (period NULL), and apart from that per KPI and period (group NULL): two
-- views from one read of the facts. A group row only for KPIs with that dimension, a period row
-- only for facts with a moment.
SELECT kpi, grp, period, any_value(agg) AS agg,
       avg(x) AS mean, sum(x) AS total, sum(d) AS den, count(x) AS cases,
       quantile_cont(x, 0.95) FILTER (WHERE agg = 'p95') AS p95
FROM kpi_rows GROUP BY GROUPING SETS ((kpi, grp), (kpi, period))
HAVING CASE WHEN grouping(period) = 1 THEN list_contains($dims_by, kpi) ELSE period IS NOT NULL END;

-- name: exception_aging
-- Open exceptions at $as_of in age buckets (calendar days since flagged): count and amount.
WITH b AS (
    SELECT * FROM (VALUES (1, '0-7', 0, 7), (2, '8-30', 8, 30), (3, '31-60', 31, 60), (4, '>60', 61, NULL))
        AS t(ord, bucket, low, high)
),
x AS (
    SELECT * FROM exceptions_open
    WHERE ($facilities IS NULL OR list_contains($facilities, facility))
      AND ($suppliers IS NULL OR list_contains($suppliers, supplier))
      AND ($departments IS NULL OR list_contains($departments, department))
      AND ($categories IS NULL OR list_contains($categories, category))
      AND ($start IS NULL OR flagged_at >= $start::TIMESTAMP)
      AND ($end IS NULL OR flagged_at < ($end::DATE + 1)::TIMESTAMP)
)
SELECT b.bucket, b.low AS min_days, b.high AS max_days, count(x.exception_id) AS exceptions,
       coalesce(round(sum(x.amount), 2), 0) AS amount
FROM b LEFT JOIN x ON x.age_days >= b.low AND (b.high IS NULL OR x.age_days <= b.high)
GROUP BY b.ord, b.bucket, b.low, b.high
ORDER BY b.ord;

-- name: blocked_list
-- Invoices blocked at $as_of: why, who holds them (the exception's routing), how long.
SELECT f.invoice_id, f.supplier AS supplier_id, f.facility, f.department, f.category, f.amount,
       f.blocked_at, date_diff('second', f.blocked_at, n.as_of) / 86400.0 AS age_days,
       f.block_reason AS reason, f.routed_to AS holder, f.routing_rule AS queue
FROM inv_fact f, now_ts n
WHERE f.blocked_at IS NOT NULL
  AND ($facilities IS NULL OR list_contains($facilities, f.facility))
  AND ($suppliers IS NULL OR list_contains($suppliers, f.supplier))
  AND ($departments IS NULL OR list_contains($departments, f.department))
  AND ($categories IS NULL OR list_contains($categories, f.category))
  AND ($start IS NULL OR f.blocked_at >= $start::TIMESTAMP)
  AND ($end IS NULL OR f.blocked_at < ($end::DATE + 1)::TIMESTAMP)
ORDER BY f.blocked_at, f.invoice_id;

-- name: invoice_arrivals
-- Invoices per supplier invoice date; month_end: the day is one of its month's last three.
SELECT invoice_date AS day, count(*) AS invoices,
       month(invoice_date + 3) <> month(invoice_date) AS month_end
FROM inv_fact
WHERE invoice_date IS NOT NULL
  AND ($facilities IS NULL OR list_contains($facilities, facility))
  AND ($suppliers IS NULL OR list_contains($suppliers, supplier))
  AND ($departments IS NULL OR list_contains($departments, department))
  AND ($categories IS NULL OR list_contains($categories, category))
  AND ($start IS NULL OR invoice_date >= $start::DATE)
  AND ($end IS NULL OR invoice_date <= $end::DATE)
GROUP BY invoice_date
ORDER BY invoice_date;

-- name: discount_at_risk
-- Invoices unpaid at $as_of whose early-payment discount window is still open: the discount
-- paying them by `pay_by` would keep. Blocked ones are marked: they cannot be paid in time
-- unless someone releases them.
SELECT f.invoice_id, f.supplier AS supplier_id, f.facility, f.amount, f.discount_pct,
       f.invoice_date + f.discount_days                           AS pay_by,
       round(f.amount * f.discount_pct / 100, 2)                  AS discount,
       f.blocked_at IS NOT NULL AND f.blocked_at <= n.as_of        AS blocked
FROM inv_fact f, now_ts n
WHERE f.discount_pct > 0
  AND f.invoice_date <= n.as_of::DATE
  AND (f.paid_at IS NULL OR f.paid_at > n.as_of)
  AND n.as_of::DATE <= f.invoice_date + f.discount_days
  AND ($facilities IS NULL OR list_contains($facilities, f.facility))
  AND ($suppliers IS NULL OR list_contains($suppliers, f.supplier))
  AND ($departments IS NULL OR list_contains($departments, f.department))
  AND ($categories IS NULL OR list_contains($categories, f.category))
ORDER BY pay_by, f.invoice_id;
