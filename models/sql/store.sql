-- The store's own bookkeeping: schema version and data version.

-- name: schema_version
SELECT max(version) FROM schema_info;

-- name: record_version
INSERT INTO schema_info VALUES ($version, now()::TIMESTAMP);

-- name: data_version
-- The last load the derived tables include (pages cache on it).
SELECT seq FROM derived_through;

-- name: forget_derived
-- Before an upgrade re-derives everything (version 1 stores have no such table yet).
DELETE FROM derived_through;

-- name: start_derived
INSERT INTO derived_through VALUES (0, NULL);

-- name: pending_loads
-- The loads not yet derived: the mark, their first and last batch ids and their last seq
-- (NULLs when none). ingest_batch is in seq order, so `seq > mark` reads only its newest rows.
SELECT d.seq, min(b.batch_id), max(b.batch_id), max(b.seq)
FROM derived_through d LEFT JOIN ingest_batch b ON b.seq > d.seq
GROUP BY d.seq;

-- name: mark_derived
UPDATE derived_through SET seq = $seq, caught_up_at = $at;

-- name: checkpoint_less_often
SET checkpoint_threshold = '256MB';