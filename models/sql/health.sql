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
FROM span
WHERE ($facilities IS NULL
       OR list_contains($facilities::VARCHAR[], json_extract_string(attributes, '$."p2p.facility.id"')))
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
