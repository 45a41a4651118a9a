-- What the store holds and how it got there (the Data health page, `p2pobs stats`).
-- Filters: $start/$end (days, inclusive) and $facilities (a list, or NULL for all).

-- name: counts
SELECT
    (SELECT count(*) FROM event)          AS events,
    (SELECT count(*) FROM object)         AS objects,
    (SELECT count(*) FROM event_object)   AS event_objects,
    (SELECT count(*) FROM object_object)  AS object_objects,
    (SELECT count(*) FROM object_change)  AS object_changes,
    (SELECT count(*) FROM span)           AS spans,
    (SELECT count(*) FROM dead_letter)    AS dead_letters,
    (SELECT count(*) FROM ingest_batch)   AS batches;

-- name: events_by_facility_system
-- From event_daily (kept at load), not every event: the period filter selects whole days.
SELECT coalesce(facility, '(none)')  AS facility,
       source_system,
       sum(events)::BIGINT           AS events,
       count(DISTINCT activity)      AS activities,
       min(first_ts)                 AS first_event,
       max(last_ts)                  AS last_event
FROM event_daily
WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], facility))
  AND ($start IS NULL OR day >= $start::DATE) AND ($end IS NULL OR day <= $end::DATE)
GROUP BY ALL
ORDER BY facility, source_system;

-- name: objects_by_type
SELECT o.object_type, count(*) AS objects
FROM object o
GROUP BY ALL
ORDER BY objects DESC, object_type;

-- name: spans_by_service
-- From service_day (kept at load), not every span: the period filter selects whole days.
SELECT service,
       sum(spans)::BIGINT   AS spans,
       sum(errors)::BIGINT  AS errors,
       min(first_span)      AS first_span,
       max(last_span)       AS last_span
FROM service_day
WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], facility))
  AND ($start IS NULL OR day >= $start::DATE) AND ($end IS NULL OR day <= $end::DATE)
GROUP BY ALL
ORDER BY spans DESC, service;

-- name: ingest_batches
SELECT seq, source, kind, mapping, started_at, finished_at,
       accepted, duplicates, rejected
FROM ingest_batch
ORDER BY seq DESC
LIMIT $limit;

-- name: dead_letters_by_reason
SELECT source, reason, count(*) AS records, min(position) AS first_position
FROM dead_letter
WHERE replayed_in IS NULL
GROUP BY ALL
ORDER BY records DESC, source, reason;

-- name: duplicates_by_source
-- Records loads dropped because the store had them already or the load repeated them.
SELECT source, kind, sum(duplicates)::BIGINT AS duplicates, sum(accepted)::BIGINT AS accepted, count(*) AS loads
FROM ingest_batch
GROUP BY ALL
HAVING sum(duplicates) > 0
ORDER BY duplicates DESC, source;

-- name: clock_skew
-- When the middleware saw an event published (its trace's root span starts) against when the
-- source system's own log says it happened. Publishing cannot precede the event, so a negative
-- offset is the source's clock running ahead of the middleware's (or a time-zone error).
-- Offsets in whole microseconds (the timestamps' own unit: exact, and cheaper than subtracting
-- epoch seconds as doubles), both quantiles from one pass over each system's offsets. The period
-- filter selects the events of whole days, by the time the source system gave them.
SELECT source_system,
       count(*)                                              AS events,
       quantile_cont(offset_us, [0.5, 0.05])[1] / 1e6        AS median_offset_s,
       quantile_cont(offset_us, [0.5, 0.05])[2] / 1e6        AS p05_offset_s,
       count(*) FILTER (WHERE offset_us < -1000000)          AS ahead_of_middleware,
       min(offset_us) / 1e6                                  AS min_offset_s
FROM (SELECT source_system, epoch_us(published_at) - epoch_us(event_time) AS offset_us
      FROM sync_hop
      WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], facility))
        AND ($start IS NULL OR event_time >= $start::DATE)
        AND ($end IS NULL OR event_time < $end::DATE + 1))
GROUP BY ALL
ORDER BY source_system;

-- name: span_coverage
-- Per case notion: how many cases have at least one event that a span carried. With
-- $facilities: the cases with an event there, carried when a span carried one of those events.
-- From case_coverage_count (cases per notion and combination of facilities, kept at load): a few
-- hundred rows, not one per case.
SELECT object_type,
       sum(cases)::BIGINT                    AS cases,
       coalesce(sum(cases) FILTER (WHERE CASE WHEN $facilities IS NULL THEN carried
                                              ELSE list_has_any(carried_facilities, $facilities::VARCHAR[]) END),
                0)::BIGINT                   AS cases_with_spans,
       cases_with_spans / sum(cases)         AS coverage
FROM case_coverage_count
WHERE $facilities IS NULL OR list_has_any(facilities, $facilities::VARCHAR[])
GROUP BY ALL
ORDER BY cases DESC, object_type;

-- name: forget_spans
-- Before copying the spans of the loads [$first, $last] (all when NULL) again.
DELETE FROM span_p2p
WHERE $first IS NULL OR batch_id BETWEEN $first AND $last;

-- name: keep_spans
-- The p2p.* keys of the spans the loads [$first, $last] stored (all when NULL), read in one
-- parse of each span's attributes (one `->>` per key parses it once per key).
INSERT INTO span_p2p
SELECT trace_id, span_id, service, start_time, end_time, status_code, p2p[1], p2p[2], p2p[3], p2p[4], batch_id
FROM (SELECT *, json_extract_string(attributes, ['$."p2p.event.id"', '$."p2p.event.type"',
                                                 '$."p2p.object.id"', '$."p2p.facility.id"']) AS p2p
      FROM span
      WHERE $first IS NULL OR batch_id BETWEEN $first AND $last);

-- name: forget_service_days
-- Before counting every span again (a refresh of every load).
DELETE FROM service_day WHERE $first IS NULL;

-- name: keep_service_days
-- The spans just copied into span_p2p added to their service's day: a few rows per refresh,
-- whatever the store holds (each load is derived once, so nothing is counted twice).
MERGE INTO service_day d
USING (SELECT coalesce(service, '(unknown)') AS service, facility, start_time::DATE AS day,
              count(*) AS spans, count(*) FILTER (WHERE status_code = 'ERROR') AS errors,
              min(start_time) AS first_span, max(end_time) AS last_span
       FROM span_p2p
       WHERE $first IS NULL OR batch_id BETWEEN $first AND $last
       GROUP BY ALL) n
ON d.service = n.service AND d.facility IS NOT DISTINCT FROM n.facility AND d.day = n.day
WHEN MATCHED THEN UPDATE SET spans = d.spans + n.spans, errors = d.errors + n.errors,
                             first_span = least(d.first_span, n.first_span),
                             last_span = greatest(d.last_span, n.last_span)
WHEN NOT MATCHED THEN INSERT VALUES (n.service, n.facility, n.day, n.spans, n.errors, n.first_span, n.last_span);

-- name: coverage_scope
-- The cases the loads [$first, $last] may have changed: those they touched (touched_object, found
-- once per catch-up by models/store.py), or whose events a span of the loads carried (sync_hop).
CREATE OR REPLACE TEMP TABLE coverage_scope AS
SELECT DISTINCT case_id FROM (
    SELECT object_id AS case_id FROM touched_object
    UNION ALL
    SELECT c.case_id FROM case_event c
    WHERE c.event_id IN (SELECT h.event_id FROM sync_hop h
                         WHERE h.trace_id IN (SELECT trace_id FROM span WHERE batch_id BETWEEN $first AND $last))
);

-- name: rebuild_coverage_scope
-- Every case (a refresh of every load).
CREATE OR REPLACE TEMP TABLE coverage_scope AS
SELECT DISTINCT case_id FROM case_event;

-- name: old_coverage
-- The scoped cases' rows as they were (rowid: to delete them without searching case_id again).
CREATE OR REPLACE TEMP TABLE coverage_old AS
SELECT rowid AS row_id, object_type, facilities, carried, carried_facilities
FROM case_coverage
WHERE $first IS NOT NULL AND case_id IN (SELECT case_id FROM coverage_scope);

-- name: forget_coverage_counts
-- Before counting every case again (a rebuild, or a store upgraded to version 6).
DELETE FROM case_coverage_count WHERE $first IS NULL;

-- name: uncount_coverage
-- The scoped cases taken off the counts as they were judged.
MERGE INTO case_coverage_count k
USING (SELECT object_type, facilities, carried, carried_facilities, count(*) AS cases
       FROM coverage_old GROUP BY ALL) o
ON k.object_type = o.object_type AND k.facilities = o.facilities AND k.carried = o.carried
   AND k.carried_facilities = o.carried_facilities
WHEN MATCHED AND k.cases = o.cases THEN DELETE
WHEN MATCHED THEN UPDATE SET cases = k.cases - o.cases;

-- name: forget_coverage
DELETE FROM case_coverage WHERE $first IS NULL OR rowid IN (SELECT row_id FROM coverage_old);

-- name: keep_coverage
-- Which of the scoped cases' events a span carried is looked up for those events only (not
-- every event of sync_hop made distinct); their case_event rows are read twice rather than stored.
CREATE OR REPLACE TEMP TABLE coverage_new AS
WITH scoped AS NOT MATERIALIZED (
    SELECT ce.object_type, ce.case_id, ce.event_id, ce.facility
    FROM case_event ce SEMI JOIN coverage_scope s ON s.case_id = ce.case_id
),
carried AS (
    SELECT DISTINCT h.event_id FROM sync_hop h SEMI JOIN scoped ce ON ce.event_id = h.event_id
)
SELECT ce.object_type, ce.case_id,
       coalesce(list(DISTINCT ce.facility ORDER BY ce.facility) FILTER (WHERE ce.facility IS NOT NULL), []) AS facilities,
       bool_or(h.event_id IS NOT NULL) AS carried,
       coalesce(list(DISTINCT ce.facility ORDER BY ce.facility)
                FILTER (WHERE ce.facility IS NOT NULL AND h.event_id IS NOT NULL), []) AS carried_facilities
FROM scoped ce LEFT JOIN carried h USING (event_id)
GROUP BY ce.object_type, ce.case_id;

-- name: add_coverage
INSERT INTO case_coverage SELECT * FROM coverage_new;

-- name: count_coverage
-- The scoped cases added to the counts as judged now.
MERGE INTO case_coverage_count k
USING (SELECT object_type, facilities, carried, carried_facilities, count(*) AS cases
       FROM coverage_new GROUP BY ALL) n
ON k.object_type = n.object_type AND k.facilities = n.facilities AND k.carried = n.carried
   AND k.carried_facilities = n.carried_facilities
WHEN MATCHED THEN UPDATE SET cases = k.cases + n.cases
WHEN NOT MATCHED THEN INSERT VALUES (n.object_type, n.facilities, n.carried, n.carried_facilities, n.cases);

-- name: recount_coverage
-- Every case_coverage row counted (a store upgraded to version 6).
INSERT INTO case_coverage_count
SELECT object_type, facilities, carried, carried_facilities, count(*)
FROM case_coverage GROUP BY ALL;

-- name: coverage_done
DROP TABLE IF EXISTS coverage_scope;
DROP TABLE IF EXISTS coverage_old;
DROP TABLE IF EXISTS coverage_new;
