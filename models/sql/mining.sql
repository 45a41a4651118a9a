-- Process mining over cases: a case is one object of a type, its events those related to it in
-- event_object, ordered by ts, then source_order, then event_id.
-- Questions read the tables derived at load (case_event, case_variant); `refresh_*` keep them.
-- $object_type: one object type, or NULL for all (the object-centric view).
-- $facilities: the viewer's scope, a list of facility ids, or NULL for all. A scope drops the
-- events of other facilities and the cases are what remains of them: cases whose events all lie
-- in one facility are read as stored; the few that span facilities are re-sequenced here.
-- $start, $end: days (inclusive), either NULL for open: the cases whose first event lies in
-- that period, whole.

-- name: refresh_touched
-- The objects whose cases the loads with batch ids in [$first, $last] may have changed: a new
-- relation, a new event of an old relation, or the object itself arriving (its type was unknown
-- until now).
CREATE OR REPLACE TEMP TABLE mining_touched AS
SELECT DISTINCT object_id AS case_id
FROM (
    SELECT object_id FROM event_object WHERE batch_id BETWEEN $first AND $last
    UNION ALL
    SELECT r.object_id FROM event e JOIN event_object r ON r.event_id = e.event_id
    WHERE e.batch_id BETWEEN $first AND $last
    UNION ALL
    SELECT object_id FROM object WHERE batch_id BETWEEN $first AND $last
);

-- name: refresh_touched_count
SELECT count(*) FROM mining_touched;

-- name: rebuild_touched
CREATE OR REPLACE TEMP TABLE mining_touched AS
SELECT object_id AS case_id FROM object;

-- name: refresh_forget_events
DELETE FROM case_event WHERE case_id IN (SELECT case_id FROM mining_touched);

-- name: refresh_forget_variants
DELETE FROM case_variant WHERE case_id IN (SELECT case_id FROM mining_touched);

-- name: refresh_events
INSERT INTO case_event BY NAME
WITH related AS (
    SELECT DISTINCT r.event_id, r.object_id
    FROM event_object r SEMI JOIN mining_touched t ON t.case_id = r.object_id
)
SELECT o.object_type,
       o.object_id                                             AS case_id,
       row_number() OVER w                                     AS position,
       e.event_id, e.activity, e.ts, e.facility,
       lead(e.activity) OVER w                                 AS next_activity,
       lead(e.ts) OVER w                                       AS next_ts,
       CASE WHEN count(e.facility) OVER c = count(*) OVER c
             AND min(e.facility) OVER c = max(e.facility) OVER c
            THEN min(e.facility) OVER c END                    AS case_facility,
       min(e.ts) OVER c                                        AS case_start
FROM related r
JOIN object o ON o.object_id = r.object_id
JOIN event e ON e.event_id = r.event_id
WINDOW w AS (PARTITION BY o.object_id ORDER BY e.ts, e.source_order, e.event_id),
       c AS (PARTITION BY o.object_id)
-- Rows land clustered by case notion, so the zone maps on object_type let a question about one
-- notion skip the row groups of the others (invoices are a tenth of case_event).
ORDER BY object_type, case_id, position;

-- name: refresh_variants
INSERT INTO case_variant BY NAME
SELECT *, hash(variant) AS variant_hash
FROM (
    SELECT object_type, case_id,
           list(activity ORDER BY position)  AS variant,
           count(*)                          AS events,
           min(ts)                           AS start_ts,
           max(ts)                           AS end_ts,
           any_value(case_facility)          AS case_facility
    FROM case_event
    WHERE case_id IN (SELECT case_id FROM mining_touched)
    GROUP BY object_type, case_id
)
ORDER BY object_type, case_id;

-- name: refresh_done
DROP TABLE IF EXISTS mining_touched;

-- name: object_types
WITH scoped AS (
    SELECT object_type, variant_hash, events
    FROM case_variant
    WHERE ($facilities IS NULL OR list_contains($facilities, case_facility))
      AND ($start IS NULL OR start_ts >= $start::DATE)
      AND ($end IS NULL OR start_ts < $end::DATE + INTERVAL 1 DAY)
    UNION ALL
    SELECT object_type, hash(list(activity ORDER BY position)), count(*)
    FROM case_event
    WHERE case_facility IS NULL AND list_contains($facilities, facility)
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
    GROUP BY object_type, case_id
)
SELECT object_type,
       count(*)                      AS cases,
       sum(events)::BIGINT           AS events,
       count(DISTINCT variant_hash)  AS variants
FROM scoped
GROUP BY object_type
ORDER BY cases DESC, object_type;

-- name: edges
-- Directly-follows pairs with their count and the time between the two events, in seconds.
WITH scoped AS (
    SELECT object_type, activity, ts, next_activity, next_ts
    FROM case_event
    WHERE ($object_type IS NULL OR object_type = $object_type)
      AND ($facilities IS NULL OR list_contains($facilities, case_facility))
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
    UNION ALL
    SELECT object_type, activity, ts, lead(activity) OVER w, lead(ts) OVER w
    FROM case_event
    WHERE ($object_type IS NULL OR object_type = $object_type)
      AND case_facility IS NULL AND list_contains($facilities, facility)
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
    WINDOW w AS (PARTITION BY case_id ORDER BY position)
)
SELECT object_type,
       activity                              AS source,
       next_activity                         AS target,
       count(*)                              AS count,
       median(us) / 1e6                      AS median_s,
       avg(us) / 1e6                         AS mean_s,
       quantile_cont(us, 0.9) / 1e6          AS p90_s
FROM (
    SELECT object_type, activity, next_activity, epoch_us(next_ts) - epoch_us(ts) AS us
    FROM scoped
    WHERE next_activity IS NOT NULL
)
GROUP BY object_type, activity, next_activity
ORDER BY object_type, count DESC, source, target;

-- name: edge_counts
-- `edges` without the time between events (a hash aggregate only).
WITH scoped AS (
    SELECT object_type, activity, next_activity
    FROM case_event
    WHERE ($object_type IS NULL OR object_type = $object_type)
      AND ($facilities IS NULL OR list_contains($facilities, case_facility))
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
    UNION ALL
    SELECT object_type, activity, lead(activity) OVER w
    FROM case_event
    WHERE ($object_type IS NULL OR object_type = $object_type)
      AND case_facility IS NULL AND list_contains($facilities, facility)
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
    WINDOW w AS (PARTITION BY case_id ORDER BY position)
)
SELECT object_type, activity AS source, next_activity AS target, count(*) AS count
FROM scoped
WHERE next_activity IS NOT NULL
GROUP BY object_type, activity, next_activity
ORDER BY object_type, count DESC, source, target;

-- name: endpoints
-- Per object type, how many cases start and how many end with each activity.
WITH scoped AS (
    SELECT object_type, activity, position = 1 AS first, next_activity IS NULL AS last
    FROM case_event
    WHERE ($object_type IS NULL OR object_type = $object_type)
      AND ($facilities IS NULL OR list_contains($facilities, case_facility))
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
      AND (position = 1 OR next_activity IS NULL)
    UNION ALL
    SELECT object_type, activity,
           row_number() OVER w = 1, row_number() OVER (PARTITION BY case_id ORDER BY position DESC) = 1
    FROM case_event
    WHERE ($object_type IS NULL OR object_type = $object_type)
      AND case_facility IS NULL AND list_contains($facilities, facility)
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
    WINDOW w AS (PARTITION BY case_id ORDER BY position)
)
SELECT object_type, activity,
       count(*) FILTER (WHERE first)  AS starts,
       count(*) FILTER (WHERE last)   AS ends
FROM scoped
WHERE first OR last
GROUP BY object_type, activity
ORDER BY object_type, activity;

-- name: variants
-- Distinct activity sequences with their cases, share of cases and throughput (first to last
-- event of a case) in seconds.
WITH scoped AS (
    SELECT variant, variant_hash, epoch_us(end_ts) - epoch_us(start_ts) AS us
    FROM case_variant
    WHERE object_type = $object_type
      AND ($facilities IS NULL OR list_contains($facilities, case_facility))
      AND ($start IS NULL OR start_ts >= $start::DATE)
      AND ($end IS NULL OR start_ts < $end::DATE + INTERVAL 1 DAY)
    UNION ALL
    SELECT variant, hash(variant), us
    FROM (
        SELECT list(activity ORDER BY position) AS variant,
               epoch_us(max(ts)) - epoch_us(min(ts)) AS us
        FROM case_event
        WHERE object_type = $object_type
          AND case_facility IS NULL AND list_contains($facilities, facility)
      AND ($start IS NULL OR case_start >= $start::DATE)
      AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)
        GROUP BY case_id
    )
)
SELECT any_value(variant)                      AS variant,
       count(*)                                AS cases,
       count(*) / sum(count(*)) OVER ()        AS share,
       median(us) / 1e6                        AS median_throughput_s,
       avg(us) / 1e6                           AS mean_throughput_s
FROM scoped
GROUP BY variant_hash
ORDER BY cases DESC, variant;
