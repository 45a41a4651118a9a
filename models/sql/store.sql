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

-- name: link_objects
-- Upgrading a store of version 3 or earlier: object_link (schema.sql) from its O2O rows.
INSERT INTO object_link
SELECT hash(source_id), source_id, target_id, qualifier, true FROM object_object
UNION ALL
SELECT hash(target_id), target_id, source_id, qualifier, false FROM object_object;

-- name: drop_indexes
-- Stores of versions 5 to 7 kept event_lookup and case_lookup under ART indexes.
DROP INDEX IF EXISTS event_lookup_key;
DROP INDEX IF EXISTS case_lookup_key;

-- name: start_derived
INSERT INTO derived_through VALUES (0, NULL);

-- name: pending_loads
-- The loads not yet derived: the mark, their first and last batch ids and their last seq
-- (NULLs when none). ingest_batch is in seq order, so `seq > mark` reads only its newest rows.
SELECT d.seq, min(b.batch_id), max(b.batch_id), max(b.seq)
FROM derived_through d LEFT JOIN ingest_batch b ON b.seq > d.seq
GROUP BY d.seq;

-- name: touched_objects
-- The objects the loads with batch ids in [$first, $last] touched, for the refreshes that re-derive
-- per object (mining, documents, health): a new relation, a new event of an old relation (a
-- relation stored before its event waits in event_lookup without the event's details), or the
-- object itself arriving. Each part read by batch id alone (zone maps skip older row groups);
-- computed once per catch-up, before audit.refresh moves event_lookup on.
CREATE OR REPLACE TEMP TABLE touched_object AS
SELECT DISTINCT object_id FROM (
    SELECT object_id FROM event_object WHERE batch_id BETWEEN $first AND $last
    UNION ALL
    SELECT unnest(objects) FROM event_lookup
    WHERE activity IS NULL AND event_id IN (SELECT event_id FROM event WHERE batch_id BETWEEN $first AND $last)
    UNION ALL
    SELECT object_id FROM object WHERE batch_id BETWEEN $first AND $last
);

-- name: touched_objects_done
DROP TABLE IF EXISTS touched_object;

-- name: mark_derived
UPDATE derived_through SET seq = $seq, caught_up_at = $at;

-- name: one_thread
-- A receiver alone (no dashboard): its queries are the writer's commits and catch-ups, which run
-- beside each other and the decoding workers on cores already busy.
SET threads = 1;

-- name: memory_limit
SELECT current_setting('memory_limit');

-- name: checkpoint_less_often
SET checkpoint_threshold = '256MB';

-- name: write_row_groups_early
SET write_buffer_row_group_count = 1;
