-- Finding a case: objects by id (as any system writes it, canonicalised or not) or by a person
-- who acted on them. Counts and times come from case_variant (master data, no case, has none).
-- An id typed whole (in any case) that is a case's is found by key in case_lookup, alone; the
-- ids containing the text and the people of that name are looked for only when it is none.

-- name: people
-- The people whose user name is $text in any case (no service accounts). Asked before `find`, so it
-- reads the objects of a person's events only when there is such a person.
SELECT DISTINCT actor FROM event_lookup WHERE actor ILIKE $text AND actor_kind IS DISTINCT FROM $service;

-- name: key
-- The key case_lookup files an id under.
SELECT hash(lower($text));

-- name: find_case
-- The cases whose id is $text in any case ($keys: its key), as `find` lists them.
SELECT case_id AS object_id, object_type, 'id' AS matched_on, events, start_ts AS first_event,
       end_ts AS last_event
FROM case_lookup
WHERE case_key IN (SELECT unnest($keys::UBIGINT[])) AND lower(case_id) = lower($text)
  AND ($types IS NULL OR list_contains($types::VARCHAR[], object_type))
ORDER BY list_position($types::VARCHAR[], object_type) NULLS LAST, events DESC, object_id
LIMIT $limit;

-- name: find
WITH hits AS (
    SELECT o.object_id, o.object_type, 'id' AS matched_on
    FROM object o
    WHERE o.object_id ILIKE '%' || $text || '%'
    UNION ALL
    SELECT l.object_id, o.object_type, 'person ' || any_value(l.actor) AS matched_on
    FROM (SELECT unnest(objects) AS object_id, actor FROM event_lookup   -- each event with its objects
          WHERE actor IN (SELECT unnest($people::VARCHAR[])) AND actor_kind IS DISTINCT FROM $service) l
    JOIN object o ON o.object_id = l.object_id
    GROUP BY l.object_id, o.object_type
)
SELECT h.object_id, h.object_type, any_value(h.matched_on) AS matched_on,
       any_value(v.events) AS events, any_value(v.start_ts) AS first_event,
       any_value(v.end_ts) AS last_event
FROM hits h
LEFT JOIN case_variant v ON v.case_id = h.object_id
WHERE $types IS NULL OR list_contains($types::VARCHAR[], h.object_type)
GROUP BY h.object_id, h.object_type
ORDER BY list_position($types::VARCHAR[], h.object_type) NULLS LAST, events DESC NULLS LAST, h.object_id
LIMIT $limit;

-- name: lookup
-- Cases by id ($ids, $keys: their keys in case_lookup), with their events' keys. The ids are
-- checked on the rows found by key: asked in the same scan, they made DuckDB read the key lists
-- of whole row groups.
WITH found AS MATERIALIZED (
    SELECT case_id, event_keys FROM case_lookup WHERE case_key IN (SELECT unnest($keys::UBIGINT[]))
)
SELECT * FROM found WHERE list_contains($ids::VARCHAR[], case_id);

-- name: keys
SELECT list(DISTINCT hash(lower(id))) FROM unnest($ids::VARCHAR[]) t(id);

-- name: touched
SELECT count(*) FROM touched_object;

-- name: refresh_forget
-- The cases the loads touched (touched_object, models/store.py), derived again after case_event.
DELETE FROM case_lookup
WHERE case_key IN (SELECT hash(lower(object_id)) FROM touched_object)
  AND case_id IN (SELECT object_id FROM touched_object);

-- name: refresh_keep
INSERT INTO case_lookup BY NAME
SELECT hash(lower(case_id)) AS case_key, case_id, object_type, count(*) AS events,
       min(ts) AS start_ts, max(ts) AS end_ts, list(hash(event_id) ORDER BY position) AS event_keys
FROM case_event
WHERE case_id IN (SELECT object_id FROM touched_object)
GROUP BY object_type, case_id
ORDER BY case_key;

-- name: rebuild_touched
-- Every case afresh (a store of version 6 or earlier has no case_lookup): each counts as touched.
CREATE OR REPLACE TEMP TABLE touched_object AS SELECT DISTINCT case_id AS object_id FROM case_event;

-- name: rebuild_done
DROP TABLE IF EXISTS touched_object;
