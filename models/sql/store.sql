-- The store's own bookkeeping: schema version and data version.

-- name: schema_version
SELECT max(version) FROM schema_info;

-- name: record_version
INSERT INTO schema_info VALUES ($version, now()::TIMESTAMP);

-- name: data_version
SELECT coalesce(max(seq), 0) FROM ingest_batch;

-- name: missing_columns
-- Nullable columns schema.sql gained within schema version 1, that an older store lacks.
SELECT t.table_name, t.column_name, t.data_type
FROM (VALUES ('dead_letter', 'context', 'VARCHAR'),
             ('event_object', 'batch_id', 'VARCHAR')) t(table_name, column_name, data_type)
ANTI JOIN information_schema.columns c
  ON c.table_name = t.table_name AND c.column_name = t.column_name;
