-- Sync lag: how long a business event took to be committed in each target system.
-- One row of sync_hop per business event x target system, kept current at load (refresh_*),
-- then read by the blocks below. Lag = commit in the target (end of the first successful
-- write span, a CLIENT span without error and with HTTP status < 400) - the event's time at
-- the source (its ts in the state log, else the start of the trace's root span).
--
-- Parameters shared by the read blocks:
--   $facilities, $suppliers  lists of ids, or NULL for all
--   $source, $target  a system name, or NULL for all
--   $since, $until    event time window [since, until), either NULL for open
--   $sla         seconds: an event not committed within it counts as over SLA
--   $as_of       the moment "now" for ages of uncommitted events; NULL = last span seen

-- name: refresh_parse
-- The spans of the traces the loads with batch ids in [$first, $last] touched (NULL = every
-- trace), with their p2p.* attributes read out once ($paths: JSON paths of event id, event
-- type, object type, object id, source, target, facility, supplier, HTTP status). A span
-- lacking the event id takes its trace's; one lacking the target takes its trace's only if the
-- trace names a single target (a fan-out's shared publish span belongs to the event, not to one
-- of its hops). What a trace names is grouped per trace and joined back (a window over traces
-- of a few spans each cost a third more of the whole step).
CREATE OR REPLACE TEMP TABLE sync_lag_spans AS
WITH touched AS (
    SELECT DISTINCT trace_id FROM span
    WHERE $first::VARCHAR IS NULL OR batch_id BETWEEN $first AND $last
), parsed AS MATERIALIZED (
    SELECT s.trace_id, s.span_id, s.parent_span_id, s.kind, s.service, s.start_time,
           s.end_time, s.status_code, json_extract_string(s.attributes, $paths) AS a
    FROM span s   -- found by row id: the search reads trace_id alone, the rest only for the hits
    WHERE s.rowid IN (SELECT x.rowid FROM span x SEMI JOIN touched t ON t.trace_id = x.trace_id)
), per_trace AS (
    SELECT trace_id, max(a[1]) AS event_id, min(a[6]) AS first_target, max(a[6]) AS last_target
    FROM parsed GROUP BY trace_id
)
SELECT p.trace_id, span_id, parent_span_id, kind, service, start_time, end_time, status_code,
       coalesce(a[1], t.event_id) AS event_id,
       a[2] AS event_type, a[3] AS object_type, a[4] AS object_id, a[5] AS source_system,
       coalesce(a[6], CASE WHEN t.first_target = t.last_target THEN t.last_target END) AS target_system,
       a[7] AS facility, a[8] AS supplier, TRY_CAST(a[9] AS INTEGER) AS http_status
FROM parsed p JOIN per_trace t ON t.trace_id = p.trace_id;

-- name: refresh_add_earlier_traces
-- An event carried again in a new trace (a re-publish) keeps the traces already recorded.
INSERT INTO sync_lag_spans
WITH keys AS (SELECT DISTINCT event_id, target_system FROM sync_lag_spans),
earlier AS (
    SELECT DISTINCT unnest(h.trace_ids) AS trace_id
    FROM sync_hop h SEMI JOIN keys k ON k.event_id = h.event_id AND k.target_system = h.target_system
    EXCEPT SELECT trace_id FROM sync_lag_spans
), parsed AS (
    SELECT s.trace_id, s.span_id, s.parent_span_id, s.kind, s.service, s.start_time,
           s.end_time, s.status_code, json_extract_string(s.attributes, $paths) AS a
    FROM span s
    WHERE s.rowid IN (SELECT x.rowid FROM span x SEMI JOIN earlier e ON e.trace_id = x.trace_id)
)
SELECT trace_id, span_id, parent_span_id, kind, service, start_time, end_time, status_code,
       coalesce(a[1], max(a[1]) OVER (PARTITION BY trace_id)),
       a[2], a[3], a[4], a[5],
       coalesce(a[6], CASE WHEN min(a[6]) OVER (PARTITION BY trace_id) = max(a[6]) OVER (PARTITION BY trace_id)
                         THEN max(a[6]) OVER (PARTITION BY trace_id) END),
       a[7], a[8], TRY_CAST(a[9] AS INTEGER)
FROM parsed;

-- name: refresh_delete
DELETE FROM sync_hop h
WHERE EXISTS (SELECT 1 FROM sync_lag_spans s
              WHERE s.event_id = h.event_id AND s.target_system = h.target_system);

-- name: refresh_insert
INSERT INTO sync_hop BY NAME
WITH marked AS (
    SELECT *,
           kind = 'CLIENT' AS is_write,
           kind = 'CLIENT' AND status_code IS DISTINCT FROM 'ERROR'
               AND coalesce(http_status, 0) < 400 AS is_commit
    FROM sync_lag_spans
    WHERE event_id IS NOT NULL
), ev AS (      -- what the event's spans say, whichever target they served
    SELECT event_id,
           any_value(event_type)    AS event_type,
           any_value(object_type)   AS object_type,
           any_value(object_id)     AS object_id,
           any_value(source_system) AS source_system,
           any_value(facility)      AS facility,
           any_value(supplier)      AS supplier,
           coalesce(min(start_time) FILTER (parent_span_id IS NULL),
                    min(start_time))                                    AS published_at
    FROM marked
    GROUP BY event_id
), hop AS (     -- the spans that served one target
    SELECT event_id, target_system,
           coalesce(arg_min(service, end_time) FILTER (is_commit),
                    arg_min(service, start_time) FILTER (is_write),
                    arg_min(service, start_time))                       AS service,
           coalesce(arg_min(trace_id, end_time) FILTER (is_commit),
                    arg_min(trace_id, start_time))                      AS trace_id,
           list_sort(list_distinct(list(trace_id)))                     AS trace_ids,
           min(end_time) FILTER (is_commit)                             AS commit_time,
           arg_min(span_id, end_time) FILTER (is_commit)                AS commit_span_id,
           count(*) FILTER (is_write)                                   AS attempts,
           coalesce(bool_or(http_status = 429), false)                  AS got_429,
           coalesce(bool_or(http_status >= 500), false)                 AS got_5xx,
           max(end_time)                                                AS last_seen
    FROM marked
    WHERE target_system IS NOT NULL
    GROUP BY event_id, target_system
)
SELECT h.*, v.event_type, v.object_type, v.object_id, v.source_system,
       coalesce(v.facility, e.facility)                                  AS facility,
       v.supplier, v.published_at,
       coalesce(e.ts, v.published_at)                                    AS event_time,
       date_diff('millisecond', coalesce(e.ts, v.published_at), h.commit_time) / 1000.0 AS lag_s
FROM hop h JOIN ev v USING (event_id) LEFT JOIN event e ON e.event_id = h.event_id;

-- name: refresh_events
-- Events that arrive after their spans: the state log's time replaces the root span's start.
UPDATE sync_hop h
SET event_time = e.ts,
    facility = coalesce(h.facility, e.facility),
    lag_s = date_diff('millisecond', e.ts, h.commit_time) / 1000.0
FROM event e
WHERE e.event_id = h.event_id AND e.batch_id BETWEEN $first AND $last
  AND h.event_time IS DISTINCT FROM e.ts;

-- name: refresh_drop
DROP TABLE IF EXISTS sync_lag_spans;

-- name: scoped_hop
-- The hops the filters choose; the read blocks below read it by name (queries.composed).
SELECT * FROM sync_hop
WHERE ($facilities IS NULL OR list_contains($facilities, facility))
  AND ($suppliers IS NULL OR list_contains($suppliers::VARCHAR[], supplier))
  AND ($source IS NULL OR source_system = $source)
  AND ($target IS NULL OR target_system = $target)
  AND ($since IS NULL OR event_time >= $since::TIMESTAMP)
  AND ($until IS NULL OR event_time < $until::TIMESTAMP);

-- name: hops
WITH now AS (SELECT coalesce($as_of, (SELECT max(last_seen) FROM sync_hop)) AS as_of)
SELECT event_id, event_type, object_type, object_id, source_system, target_system, facility,
       supplier, event_time, commit_time, lag_s,
       CASE WHEN commit_time IS NULL
            THEN date_diff('millisecond', event_time, now.as_of) / 1000.0 END AS age_s,
       attempts, greatest(attempts - 1, 0) AS retries, got_429, got_5xx,
       trace_id, service, commit_span_id
FROM scoped_hop, now
ORDER BY event_time, event_id, target_system;

-- name: by_system_pair
WITH now AS (SELECT coalesce($as_of, (SELECT max(last_seen) FROM sync_hop)) AS as_of),
h AS (
    SELECT source_system, target_system, lag_s, commit_time,
           date_diff('millisecond', event_time, now.as_of) / 1000.0 AS age_s
    FROM scoped_hop, now
), q AS (
    SELECT source_system, target_system,
           count(*)                                                  AS events,
           count(commit_time)                                        AS committed,
           quantile_cont(lag_s, [0.5, 0.95, 0.99])                   AS p,
           max(lag_s)                                                AS max_lag_s,
           count(*) FILTER (lag_s > $sla OR (commit_time IS NULL AND age_s > $sla))
                                                                     AS over_sla,
           count(*) FILTER (commit_time IS NULL AND age_s > $tolerance) AS unsynced
    FROM h GROUP BY ALL
)
SELECT source_system, target_system, events, committed,
       p[1] AS p50_s, p[2] AS p95_s, p[3] AS p99_s, max_lag_s,
       over_sla / events AS share_over_sla, unsynced
FROM q
ORDER BY p95_s DESC NULLS FIRST, source_system, target_system;

-- name: by_group
-- One block for by_facility and by_supplier: $group is 'facility' or 'supplier'.
WITH now AS (SELECT coalesce($as_of, (SELECT max(last_seen) FROM sync_hop)) AS as_of),
h AS (
    SELECT CASE $group WHEN 'facility' THEN facility ELSE supplier END AS grp,
           lag_s, commit_time,
           date_diff('millisecond', event_time, now.as_of) / 1000.0 AS age_s
    FROM scoped_hop, now
), q AS (
    SELECT grp, count(*) AS events, count(commit_time) AS committed,
           quantile_cont(lag_s, [0.5, 0.95, 0.99]) AS p, max(lag_s) AS max_lag_s,
           count(*) FILTER (lag_s > $sla OR (commit_time IS NULL AND age_s > $sla)) AS over_sla,
           count(*) FILTER (commit_time IS NULL AND age_s > $tolerance) AS unsynced
    FROM h GROUP BY grp
)
SELECT grp, events, committed, p[1] AS p50_s, p[2] AS p95_s, p[3] AS p99_s, max_lag_s,
       over_sla / events AS share_over_sla, unsynced
FROM q
ORDER BY p95_s DESC NULLS FIRST, grp;

-- name: over_time
-- $bucket: hour | day | week | month (checked by the caller).
SELECT bucket, source_system, target_system, events, committed,
       p[1] AS p50_s, p[2] AS p95_s, p[3] AS p99_s, max_lag_s, events_429, events_5xx
FROM (
    SELECT date_trunc($bucket, event_time) AS bucket,
       source_system, target_system,
       count(*)                                           AS events,
       count(commit_time)                                 AS committed,
       quantile_cont(lag_s, [0.5, 0.95, 0.99])            AS p,   -- one sort for the three
       max(lag_s)                                         AS max_lag_s,
       count(*) FILTER (got_429)                          AS events_429,
       count(*) FILTER (got_5xx)                          AS events_5xx
FROM scoped_hop
GROUP BY ALL
)
ORDER BY bucket, source_system, target_system;

-- name: by_hour_of_week
-- Event time in the zone $timezone (an IANA name); ISO day of week 1 = Monday.
WITH h AS (
    SELECT timezone($timezone, timezone('UTC', event_time)) AS local_time,
           source_system, target_system, lag_s, got_429
    FROM scoped_hop
)
SELECT day_of_week, hour, source_system, target_system, events, events_429,
       p[1] AS p50_s, p[2] AS p95_s
FROM (
    SELECT isodow(local_time) AS day_of_week, hour(local_time) AS hour,
           source_system, target_system,
           count(*)                           AS events,
           count(*) FILTER (got_429)          AS events_429,
           quantile_cont(lag_s, [0.5, 0.95])  AS p
    FROM h
    GROUP BY ALL
)
ORDER BY day_of_week, hour, source_system, target_system;

-- name: business_hours
-- Business hours: Monday-Friday, $open_hour <= local hour < $close_hour in $timezone.
WITH h AS (
    SELECT timezone($timezone, timezone('UTC', event_time)) AS local_time,
           source_system, target_system, lag_s, got_429
    FROM scoped_hop
)
SELECT source_system, target_system, business_hours, events, events_429, share_429,
       p[1] AS p50_s, p[2] AS p95_s
FROM (
    SELECT source_system, target_system,
           isodow(local_time) <= 5 AND hour(local_time) >= $open_hour
               AND hour(local_time) < $close_hour  AS business_hours,
           count(*)                               AS events,
           count(*) FILTER (got_429)              AS events_429,
           count(*) FILTER (got_429) / count(*)   AS share_429,
           quantile_cont(lag_s, [0.5, 0.95])      AS p
    FROM h
    GROUP BY ALL
)
ORDER BY source_system, target_system, business_hours DESC;

-- name: unsynced
WITH now AS (SELECT coalesce($as_of, (SELECT max(last_seen) FROM sync_hop)) AS as_of)
SELECT event_id, event_type, object_type, object_id, source_system, target_system, facility,
       supplier, event_time, date_diff('millisecond', event_time, now.as_of) / 1000.0 AS age_s,
       attempts, got_429, got_5xx, trace_id, service
FROM sync_hop, now
WHERE commit_time IS NULL
  AND event_time <= now.as_of
  AND date_diff('millisecond', event_time, now.as_of) / 1000.0 > $tolerance
  AND ($facilities IS NULL OR list_contains($facilities, facility))
  AND ($suppliers IS NULL OR list_contains($suppliers::VARCHAR[], supplier))
  AND ($source IS NULL OR source_system = $source)
  AND ($target IS NULL OR target_system = $target)
ORDER BY age_s DESC, event_id, target_system;

-- name: slowest
SELECT event_id, event_type, object_type, object_id, source_system, target_system, facility,
       supplier, event_time, commit_time, lag_s, attempts, got_429, got_5xx, trace_id, service
FROM scoped_hop
WHERE commit_time IS NOT NULL
ORDER BY lag_s DESC, event_id, target_system
LIMIT $n;

-- name: trace_hop
-- The hop a trace carried (the slowest one if it carried several); $target narrows it.
SELECT event_id, target_system, event_time, commit_time, commit_span_id, lag_s
FROM sync_hop
WHERE list_contains(trace_ids, $trace_id) AND ($target IS NULL OR target_system = $target)
ORDER BY commit_time IS NULL, lag_s DESC NULLS LAST
LIMIT 1;

-- name: trace_spans
SELECT span_id, parent_span_id, name, kind, service, start_time, end_time, status_code,
       TRY_CAST(json_extract_string(attributes, $http_path) AS INTEGER) AS http_status
FROM span
WHERE trace_id = $trace_id
ORDER BY start_time, span_id;
