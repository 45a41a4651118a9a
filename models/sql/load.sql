-- Loading a batch: each insert takes the staged Arrow table `incoming`, drops rows whose key is
-- already stored or repeated within the batch, and tags the rest with the load's batch id.
-- Keys repeated within a batch are rare, so only their rows are sorted to pick one (`repeated`);
-- the others go straight in, in the batch's order.
-- The stored rows are read through the incoming keys (a SEMI JOIN on `incoming`, or for
-- object changes the batch's time range): DuckDB then filters the stored table's scan by the
-- incoming keys and skips row groups by their zone maps, instead of building a join over every
-- stored key (at 1M orders: 75M event-object rows, 95M object changes).
-- Events, their changes and relations are new records far more often than not: their stored
-- keys that clash are read once (`stored_<table>`, usually none) and handed back as `stored`;
-- when none is stored and none repeated (`repeated_<table>`; relations' inserts drop repeats
-- themselves), `insert_new_<table>` adds the batch as it is, without the dedupe.
-- `repeated_<table>` counts distinct hashes of the key (half the cost of grouping the strings):
-- a hash collision only sends the batch through the dedupe, never lets a repeat in.

-- name: any_event
-- Whether the table holds rows: a load into one that held none when it began checks its keys
-- against its own earlier batches by hash (Load._new_in_empty_table) instead of stored_<table>.
SELECT EXISTS (SELECT 1 FROM event);

-- name: any_object_change
SELECT EXISTS (SELECT 1 FROM object_change);

-- name: any_event_object
SELECT EXISTS (SELECT 1 FROM event_object);

-- name: key_hashes_event
SELECT hash(event_id) AS h FROM incoming;

-- name: key_hashes_object_change
SELECT hash(object_id, ts, attribute) AS h FROM incoming;

-- name: key_hashes_event_object
SELECT hash(event_id, object_id, coalesce(qualifier, '')) AS h FROM incoming;

-- name: stored_event
SELECT e.event_id FROM event e SEMI JOIN incoming i ON e.event_id = i.event_id;

-- name: repeated_event
SELECT count(*) - count(DISTINCT hash(event_id)) FROM incoming;

-- name: insert_new_event
INSERT INTO event BY NAME SELECT *, $batch_id AS batch_id FROM incoming;

-- name: insert_event
INSERT INTO event BY NAME
WITH fresh AS (SELECT i.* FROM incoming i ANTI JOIN stored s ON s.event_id = i.event_id),
     repeated AS (SELECT event_id FROM fresh GROUP BY event_id HAVING count(*) > 1)
SELECT f.*, $batch_id AS batch_id FROM fresh f ANTI JOIN repeated r ON r.event_id = f.event_id
UNION ALL
(SELECT DISTINCT ON (f.event_id) f.*, $batch_id AS batch_id
 FROM fresh f SEMI JOIN repeated r ON r.event_id = f.event_id
 ORDER BY f.event_id, f.source_order);

-- name: insert_object
INSERT INTO object BY NAME
WITH fresh AS (SELECT i.* FROM incoming i
               ANTI JOIN (SELECT o.object_id FROM object o SEMI JOIN incoming i ON o.object_id = i.object_id) o
                 ON o.object_id = i.object_id),
     repeated AS (SELECT object_id FROM fresh GROUP BY object_id HAVING count(*) > 1)
SELECT f.*, $batch_id AS batch_id FROM fresh f ANTI JOIN repeated r ON r.object_id = f.object_id
UNION ALL
(SELECT DISTINCT ON (f.object_id) f.*, $batch_id AS batch_id
 FROM fresh f SEMI JOIN repeated r ON r.object_id = f.object_id
 ORDER BY f.object_id);

-- name: stored_object_change
-- ts is part of the key, so only stored changes within the batch's [$lo, $hi] can clash: zone
-- maps skip the row groups of other times.
SELECT c.object_id, c.ts, c.attribute FROM object_change c
SEMI JOIN incoming i ON c.object_id = i.object_id AND c.ts = i.ts AND c.attribute = i.attribute
WHERE c.ts BETWEEN $lo AND $hi;

-- name: repeated_object_change
SELECT count(*) - count(DISTINCT hash(object_id, ts, attribute)) FROM incoming;

-- name: insert_new_object_change
INSERT INTO object_change BY NAME SELECT *, $batch_id AS batch_id FROM incoming;

-- name: insert_object_change
INSERT INTO object_change BY NAME
WITH fresh AS (SELECT i.* FROM incoming i
               ANTI JOIN stored s ON s.object_id = i.object_id AND s.ts = i.ts AND s.attribute = i.attribute),
     repeated AS (SELECT object_id, ts, attribute FROM fresh GROUP BY ALL HAVING count(*) > 1)
SELECT f.*, $batch_id AS batch_id FROM fresh f
ANTI JOIN repeated r ON r.object_id = f.object_id AND r.ts = f.ts AND r.attribute = f.attribute
UNION ALL
(SELECT DISTINCT ON (f.object_id, f.ts, f.attribute) f.*, $batch_id AS batch_id
 FROM fresh f SEMI JOIN repeated r ON r.object_id = f.object_id AND r.ts = f.ts AND r.attribute = f.attribute
 ORDER BY f.object_id, f.ts, f.attribute, f.value::VARCHAR);

-- name: stored_event_object
-- The stored relations of the batch's events. Which events have any is found first by their
-- id column alone: usually none, and then the relations are not read at all.
SELECT r.event_id, r.object_id, r.qualifier FROM event_object r
SEMI JOIN (SELECT DISTINCT r.event_id FROM event_object r SEMI JOIN incoming i ON r.event_id = i.event_id) e
  ON r.event_id = e.event_id;

-- name: insert_new_event_object
INSERT INTO event_object BY NAME
SELECT DISTINCT event_id, object_id, coalesce(qualifier, '') AS qualifier, $batch_id AS batch_id FROM incoming;

-- name: insert_unique_event_object
-- No relation stored nor repeated (checked by key hashes): as they came.
INSERT INTO event_object BY NAME
SELECT event_id, object_id, coalesce(qualifier, '') AS qualifier, $batch_id AS batch_id FROM incoming;

-- name: insert_event_object
INSERT INTO event_object BY NAME
SELECT DISTINCT i.event_id, i.object_id, coalesce(i.qualifier, '') AS qualifier,
       $batch_id AS batch_id
FROM incoming i
ANTI JOIN stored s ON s.event_id = i.event_id AND s.object_id = i.object_id AND s.qualifier = coalesce(i.qualifier, '');

-- name: insert_object_object
-- The batch's new O2O rows, into object_object and both ways into object_link (schema.sql), in
-- the load's transaction; the last statement's count is what went in.
CREATE OR REPLACE TEMP TABLE o2o_new AS
SELECT DISTINCT i.source_id, i.target_id, coalesce(i.qualifier, '') AS qualifier
FROM incoming i
ANTI JOIN (SELECT r.source_id, r.target_id, r.qualifier FROM object_object r
           SEMI JOIN incoming i ON r.source_id = i.source_id AND r.target_id = i.target_id) r
  ON r.source_id = i.source_id AND r.target_id = i.target_id AND r.qualifier = coalesce(i.qualifier, '');
INSERT INTO object_link
SELECT hash(source_id), source_id, target_id, qualifier, true FROM o2o_new
UNION ALL
SELECT hash(target_id), target_id, source_id, qualifier, false FROM o2o_new;
INSERT INTO object_object BY NAME SELECT * FROM o2o_new;

-- name: span_clashes
-- Spans go in as `incoming`: one or more submissions of a group commit, numbered by
-- `submission`. Whether any is already stored or repeated in the group. A stored span is one
-- with the same trace and span id that started within the group's start_time range [$lo, $hi]
-- (a resend repeats the start time): the range lets DuckDB skip the row groups of older spans
-- by their zone maps. Only the two id columns are compared, so the store is searched cheaply,
-- and once per group.
SELECT (SELECT count(*) FROM span s SEMI JOIN incoming i ON i.trace_id = s.trace_id AND i.span_id = s.span_id
        WHERE s.start_time BETWEEN $lo AND $hi)
     + (SELECT count(*) FROM (SELECT 1 FROM incoming GROUP BY trace_id, span_id HAVING count(*) > 1));

-- name: newest_span_start
-- Where the writer's memory of stored span keys starts (models/recent_spans.py).
SELECT max(start_time) FROM span;

-- name: insert_spans
-- None clashes (the usual case): all go in as they came.
INSERT INTO span BY NAME
SELECT * EXCLUDE (submission), $batch_id AS batch_id FROM incoming;

-- name: stage_spans
-- Some clash: the spans not yet stored, each once (a span repeated in the group is taken from
-- its first submission).
CREATE OR REPLACE TEMP TABLE span_staged AS
SELECT DISTINCT ON (i.trace_id, i.span_id) i.*
FROM incoming i
ANTI JOIN (SELECT trace_id, span_id FROM span WHERE start_time BETWEEN $lo AND $hi) s
  ON s.trace_id = i.trace_id AND s.span_id = i.span_id
ORDER BY i.trace_id, i.span_id, i.submission;

-- name: insert_staged_spans
INSERT INTO span BY NAME
SELECT * EXCLUDE (submission), $batch_id AS batch_id FROM span_staged;

-- name: staged_spans
-- How many spans of each submission went in.
SELECT submission, count(*) FROM span_staged GROUP BY submission;

-- name: staged_spans_done
DROP TABLE IF EXISTS span_staged;

-- name: insert_dead_letter
INSERT INTO dead_letter BY NAME
SELECT DISTINCT ON (letter_id) *
FROM (
    SELECT md5(i.source || chr(31) || i.position || chr(31) || i.raw) AS letter_id,
           $batch_id AS batch_id, i.source, i.position, i.raw, i.reason,
           $mapping AS mapping, now()::TIMESTAMP AS received_at, NULL AS replayed_in, i.context
    FROM incoming i
) n
WHERE letter_id NOT IN (SELECT letter_id FROM dead_letter)
ORDER BY letter_id;

-- name: mark_replayed
-- Dead letters a replay accepted, marked with the replay's batch id (they stay, for audit).
UPDATE dead_letter SET replayed_in = $batch_id
WHERE list_contains($letter_ids::VARCHAR[], letter_id) AND replayed_in IS NULL;

-- name: record_batch
-- Its seq the next after the last recorded, found by the insert itself: one statement fewer
-- per load (each costs ~1 ms of CPU whatever it reads, and the receiver commits dozens a second).
INSERT INTO ingest_batch
    (batch_id, seq, source, kind, mapping, started_at, finished_at, accepted, duplicates, rejected)
SELECT $batch_id, coalesce(max(seq), 0) + 1, $source, $kind, $mapping::VARCHAR, $started_at,
       now()::TIMESTAMP, $accepted, $duplicates, $rejected
FROM ingest_batch;
