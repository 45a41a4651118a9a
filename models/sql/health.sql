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
SELECT coalesce(facility, '(none)')  AS facility,
       source_system,
       count(*)                      AS events,
       count(DISTINCT activity)      AS activities,
       min(ts)                       AS first_event,
       max(ts)                       AS last_event
FROM event
WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], facility))
  AND ($start IS NULL OR ts >= $start::DATE) AND ($end IS NULL OR ts < $end::DATE + INTERVAL 1 DAY)
GROUP BY ALL
ORDER BY facility, source_system;

-- name: objects_by_type
SELECT o.object_type, count(*) AS objects
FROM object o
GROUP BY ALL
ORDER BY objects DESC, object_type;

-- name: spans_by_service
SELECT coalesce(service, '(unknown)')                 AS service,
       count(*)                                       AS spans,
       count(DISTINCT trace_id)                       AS traces,
       count(*) FILTER (WHERE status_code = 'ERROR')  AS errors,
       min(start_time)                                AS first_span,
       max(end_time)                                  AS last_span
FROM span_p2p
WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], facility))
  AND ($start IS NULL OR start_time >= $start::DATE) AND ($end IS NULL OR start_time < $end::DATE + INTERVAL 1 DAY)
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
SELECT source_system,
       count(*)                                                      AS events,
       median(epoch(published_at) - epoch(event_time))               AS median_offset_s,
       quantile_cont(epoch(published_at) - epoch(event_time), 0.05)  AS p05_offset_s,
       count(*) FILTER (WHERE published_at < event_time - INTERVAL 1 SECOND) AS ahead_of_middleware,
       min(epoch(published_at) - epoch(event_time))                  AS min_offset_s
FROM sync_hop
WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], facility))
GROUP BY ALL
ORDER BY source_system;

-- name: span_coverage
-- Per case notion: how many cases have at least one event that a span carried. (Each case is
-- judged once, then cases counted: no count(DISTINCT) over every case event.)
WITH judged AS (
    SELECT ce.object_type, ce.case_id, bool_or(h.event_id IS NOT NULL) AS carried
    FROM case_event ce
    LEFT JOIN (SELECT DISTINCT event_id FROM sync_hop) h USING (event_id)
    WHERE ($facilities IS NULL OR list_contains($facilities::VARCHAR[], ce.facility))
    GROUP BY ALL
)
SELECT object_type,
       count(*)                          AS cases,
       count(*) FILTER (WHERE carried)   AS cases_with_spans,
       cases_with_spans / cases          AS coverage
FROM judged
GROUP BY ALL
ORDER BY cases DESC, object_type;

-- name: forget_spans
-- Before copying the spans of the loads [$first, $last] (all when NULL) again.
DELETE FROM span_p2p
WHERE $first IS NULL OR batch_id BETWEEN $first AND $last;

-- name: keep_spans
-- The p2p.* keys of the spans the loads [$first, $last] stored (all when NULL).
INSERT INTO span_p2p
SELECT trace_id, span_id, service, start_time, end_time, status_code,
       attributes->>'$."p2p.event.id"', attributes->>'$."p2p.event.type"',
       attributes->>'$."p2p.object.id"', attributes->>'$."p2p.facility.id"', batch_id
FROM span
WHERE $first IS NULL OR batch_id BETWEEN $first AND $last;
