-- The values the dashboard's filters offer, and the period the data spans.

-- name: facilities
SELECT DISTINCT facility FROM event WHERE facility IS NOT NULL ORDER BY facility;

-- name: suppliers
-- A supplier's current name: its latest recorded change, else the name first seen.
SELECT o.object_id AS supplier,
       coalesce(
           (SELECT c.value ->> '$' FROM object_change c
            WHERE c.object_id = o.object_id AND c.attribute = 'name' ORDER BY c.ts DESC LIMIT 1),
           o.attributes ->> '$.name', o.object_id) AS name
FROM object o
WHERE o.object_type = $supplier_type
ORDER BY name, supplier;

-- name: departments
-- The departments a department filter can match: those of the orders and invoices (the
-- documents tables the KPIs and controls read), not a scan of every requisition's history.
SELECT department FROM po_lines WHERE department <> ''
UNION
SELECT department FROM invoices WHERE department <> ''
ORDER BY department;

-- name: period
SELECT min(ts)::DATE AS first_day, max(ts)::DATE AS last_day
FROM event
WHERE NOT list_contains(coalesce(flags, []), $outlier_flag);

-- name: categories
-- UNSPSC segments (first two digits) of the items ordered on PO lines (the po_lines table).
SELECT DISTINCT left(unspsc, 2) AS category FROM po_lines
WHERE unspsc IS NOT NULL AND unspsc <> ''
ORDER BY category;
