-- The store's own bookkeeping: schema version and data version.

-- name: schema_version
SELECT max(version) FROM schema_info;

-- name: record_version
INSERT INTO schema_info VALUES ($version, now()::TIMESTAMP);

-- name: data_version
SELECT coalesce(max(seq), 0) FROM ingest_batch;
