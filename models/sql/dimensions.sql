-- The values the dashboard's filters offer, and the period the data spans. Facilities, suppliers,
-- categories and the period read small tables kept at load (`refresh_*`, models/dimensions.py).

-- name: facilities
SELECT DISTINCT facility FROM event_daily WHERE facility IS NOT NULL ORDER BY facility;

-- name: suppliers
SELECT value AS supplier, label AS name FROM dimension_value WHERE dimension = 'supplier'
ORDER BY name, supplier;

-- name: departments
-- The departments a department filter can match: those of the orders and invoices (the
-- documents tables the KPIs and controls read), not a scan of every requisition's history.
SELECT department FROM po_lines WHERE department <> ''
UNION
SELECT department FROM invoices WHERE department <> ''
ORDER BY department;

-- name: period
SELECT min(first_ts)::DATE AS first_day, max(last_ts)::DATE AS last_day FROM event_daily WHERE NOT outlier;

-- name: categories
-- UNSPSC segments (first two digits) of the items ordered on PO lines.
SELECT value AS category FROM dimension_value WHERE dimension = 'category' ORDER BY value;

-- name: refresh_categories
-- Segments of the PO lines models/documents.py `refresh` just derived (its temp table document_scope).
INSERT INTO dimension_value BY NAME
SELECT DISTINCT 'category' AS dimension, left(unspsc, 2) AS value, left(unspsc, 2) AS label
FROM po_lines
WHERE unspsc IS NOT NULL AND unspsc <> ''
  AND po_line_id IN (SELECT object_id FROM document_scope WHERE kind = 'po_line')
  AND left(unspsc, 2) NOT IN (SELECT value FROM dimension_value WHERE dimension = 'category');

-- name: refresh_touched_suppliers
-- Suppliers the loads brought, or whose name they changed.
CREATE OR REPLACE TEMP TABLE supplier_touched AS
SELECT object_id FROM object
WHERE object_type = $supplier_type AND ($first IS NULL OR batch_id BETWEEN $first AND $last)
UNION
SELECT c.object_id FROM object_change c
WHERE c.attribute = 'name' AND ($first IS NULL OR c.batch_id BETWEEN $first AND $last)
  AND c.object_id IN (SELECT object_id FROM object WHERE object_type = $supplier_type);

-- name: refresh_forget_suppliers
DELETE FROM dimension_value
WHERE dimension = 'supplier' AND value IN (SELECT object_id FROM supplier_touched);

-- name: refresh_suppliers
-- A supplier's current name: its latest recorded change, else the name first seen, else its id.
INSERT INTO dimension_value BY NAME
WITH renamed AS (
    SELECT object_id, arg_max(value ->> '$', ts) AS name
    FROM object_change
    WHERE attribute = 'name' AND object_id IN (SELECT object_id FROM supplier_touched)
    GROUP BY object_id
)
SELECT 'supplier' AS dimension, o.object_id AS value,
       coalesce(r.name, o.attributes ->> '$.name', o.object_id) AS label
FROM object o SEMI JOIN supplier_touched t ON t.object_id = o.object_id
LEFT JOIN renamed r ON r.object_id = o.object_id
WHERE o.object_type = $supplier_type;

-- name: refresh_suppliers_done
DROP TABLE IF EXISTS supplier_touched;

-- name: refresh_forget_daily
DELETE FROM event_daily WHERE $first IS NULL OR batch_id BETWEEN $first AND $last;

-- name: refresh_daily
INSERT INTO event_daily BY NAME
SELECT batch_id, ts::DATE AS day, facility, source_system, activity,
       list_contains(coalesce(flags, []), $outlier_flag) AS outlier,
       count(*) AS events, min(ts) AS first_ts, max(ts) AS last_ts
FROM event
WHERE $first IS NULL OR batch_id BETWEEN $first AND $last
GROUP BY ALL;
