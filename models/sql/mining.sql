-- Process mining over cases: a case is one object of a type, its events those related to it in
-- event_object, ordered by ts, then source_order, then event_id.
-- Questions read the tables derived at load (case_event, case_variant); `refresh_*` keep them.
-- $object_type: one object type, or NULL for all (the object-centric view).
-- Master data ($master_types: suppliers, items, contracts) are no case notion: every order names
-- them, so their "cases" would be the whole store's history.
-- $facilities: the viewer's scope, a list of facility ids, or NULL for all. A case whose events
-- name one facility (events naming none, such as a supplier portal's, go with it) is in the
-- scope of that facility, whole. The few cases whose events name several facilities keep their
-- events of the facilities in scope and are re-sequenced here.
-- $start, $end: days (inclusive), either NULL for open: the cases whose first event lies in
-- that period, whole.

-- The refresh_* blocks re-derive the cases of the objects the loads being derived touched
-- (touched_object, found once per catch-up by models/store.py; every object in a rebuild).

-- name: refresh_touched_count
SELECT count(*) FROM touched_object;

-- name: rebuild_touched
CREATE OR REPLACE TEMP TABLE touched_object AS SELECT object_id FROM object;

-- name: refresh_forget_events
DELETE FROM case_event WHERE case_id IN (SELECT object_id FROM touched_object);

-- name: refresh_forget_variants
DELETE FROM case_variant WHERE case_id IN (SELECT object_id FROM touched_object);

-- name: refresh_events
INSERT INTO case_event BY NAME
WITH touched_case AS (   -- master data is no case: its relations (every order names it) are not read
    SELECT o.object_id FROM object o SEMI JOIN touched_object t ON t.object_id = o.object_id
    WHERE NOT list_contains($master_types, o.object_type)
),
related AS (
    SELECT DISTINCT r.event_id, r.object_id
    FROM event_object r SEMI JOIN touched_case t ON t.object_id = r.object_id
)
SELECT o.object_type,
       o.object_id                                             AS case_id,
       row_number() OVER w                                     AS position,
       e.event_id, e.activity, e.ts, e.facility,
       lead(e.activity) OVER w                                 AS next_activity,
       lead(e.ts) OVER w                                       AS next_ts,
       CASE WHEN min(e.facility) OVER c = max(e.facility) OVER c
            THEN min(e.facility) OVER c END                    AS case_facility,
       min(e.ts) OVER c                                        AS case_start
FROM related r
JOIN object o ON o.object_id = r.object_id AND NOT list_contains($master_types, o.object_type)
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
    WHERE case_id IN (SELECT object_id FROM touched_object)
    GROUP BY object_type, case_id
)
ORDER BY object_type, case_id;

-- name: rebuild_done
DROP TABLE IF EXISTS touched_object;

-- name: scoped_cases
-- The cases in scope, each with its variant: as stored in case_variant, plus the few cases that
-- span facilities re-sequenced from their events in scope. Counts of edges, start and end
-- activities are sums over the distinct variants, so they never read case_event's 10 rows per
-- case (only the split cases' rows, and only under a facility filter).
SELECT object_type, variant, variant_hash, events, epoch_us(end_ts) - epoch_us(start_ts) AS us
FROM case_variant
WHERE ($object_type IS NULL OR object_type = $object_type)
  AND ($facilities IS NULL OR list_contains($facilities, case_facility))
  AND ($start IS NULL OR start_ts >= $start::DATE)
  AND ($end IS NULL OR start_ts < $end::DATE + INTERVAL 1 DAY)
UNION ALL
SELECT object_type, variant, hash(variant), events, us
FROM (
    SELECT object_type, list(activity ORDER BY position) AS variant, count(*) AS events,
           epoch_us(max(ts)) - epoch_us(min(ts)) AS us
    FROM split_events
    GROUP BY object_type, case_id
)

-- name: split_events
-- Under a facility filter, the events in scope of the cases without one facility (case_facility
-- NULL): what is left of such a case is re-sequenced from these.
SELECT * FROM case_event
WHERE ($object_type IS NULL OR object_type = $object_type)
  AND case_facility IS NULL AND list_contains($facilities, facility)
  AND ($start IS NULL OR case_start >= $start::DATE)
  AND ($end IS NULL OR case_start < $end::DATE + INTERVAL 1 DAY)

-- name: variant_cases
-- Distinct variants per object type, with their cases.
SELECT object_type, variant_hash, any_value(variant) AS variant, count(*) AS cases
FROM scoped_cases
GROUP BY object_type, variant_hash

-- name: object_types
SELECT object_type,
       count(*)                      AS cases,
       sum(events)::BIGINT           AS events,
       count(DISTINCT variant_hash)  AS variants
FROM scoped_cases
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
    FROM split_events
    WINDOW w AS (PARTITION BY case_id ORDER BY position)
)
SELECT object_type, source, target, count, q[1] / 1e6 AS median_s, mean_us / 1e6 AS mean_s,
       q[2] / 1e6 AS p90_s
FROM (
    SELECT object_type,
           activity                              AS source,
           next_activity                         AS target,
           count(*)                              AS count,
           quantile_cont(us, [0.5, 0.9])         AS q,      -- both from one sort per edge
           avg(us)                               AS mean_us
    FROM (
        SELECT object_type, activity, next_activity, epoch_us(next_ts) - epoch_us(ts) AS us
        FROM scoped
        WHERE next_activity IS NOT NULL
    )
    GROUP BY object_type, activity, next_activity
)
ORDER BY object_type, count DESC, source, target;

-- name: edge_counts
-- `edges` without the time between events: each variant's consecutive pairs, times its cases.
SELECT object_type, source, target, sum(cases)::BIGINT AS count
FROM (
    SELECT object_type, cases,
           unnest(list_slice(variant, 1, len(variant) - 1)) AS source,
           unnest(list_slice(variant, 2, len(variant)))     AS target
    FROM variant_cases
    WHERE len(variant) > 1
)
GROUP BY object_type, source, target
ORDER BY object_type, count DESC, source, target;

-- name: endpoints
-- Per object type, how many cases start and how many end with each activity.
SELECT object_type, activity, sum(starts)::BIGINT AS starts, sum(ends)::BIGINT AS ends
FROM (
    SELECT object_type, variant[1] AS activity, cases AS starts, 0 AS ends FROM variant_cases
    UNION ALL
    SELECT object_type, variant[len(variant)], 0, cases FROM variant_cases
)
GROUP BY object_type, activity
ORDER BY object_type, activity;

-- name: variants
-- Distinct activity sequences with their cases, share of cases and throughput (first to last
-- event of a case) in seconds.
SELECT any_value(variant)                      AS variant,
       count(*)                                AS cases,
       count(*) / sum(count(*)) OVER ()        AS share,
       median(us) / 1e6                        AS median_throughput_s,
       avg(us) / 1e6                           AS mean_throughput_s
FROM scoped_cases
GROUP BY variant_hash
ORDER BY cases DESC, variant;
