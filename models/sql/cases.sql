-- Finding a case: objects by id (as any system writes it, canonicalised or not) or by a person
-- who acted on them. Counts and times come from case_variant (master data, no case, has none).

-- name: people
-- The people whose user name is $text in any case (no service accounts). Asked first, so `find`
-- reads the objects of a person's events only when there is such a person.
SELECT DISTINCT actor FROM event_lookup WHERE actor ILIKE $text AND actor_kind IS DISTINCT FROM $service;

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
