-- The store's own bookkeeping: version, counts, data version.

-- name: schema_version
SELECT max(version) FROM schema_info;

-- name: record_version
INSERT INTO schema_info VALUES ($version, now()::TIMESTAMP);

-- name: data_version
SELECT coalesce(max(seq), 0) FROM ingest_batch;

-- name: stats
SELECT
    (SELECT count(*) FROM event)          AS events,
    (SELECT count(*) FROM object)         AS objects,
    (SELECT count(*) FROM event_object)   AS event_objects,
    (SELECT count(*) FROM object_object)  AS object_objects,
    (SELECT count(*) FROM object_change)  AS object_changes,
    (SELECT count(*) FROM span)           AS spans,
    (SELECT count(*) FROM dead_letter)    AS dead_letters,
    (SELECT count(*) FROM ingest_batch)   AS batches;
