-- Finding a case: objects by id (as any system writes it, canonicalised or not) or by a person
-- who acted on them.

-- name: find
WITH hits AS (
    SELECT o.object_id, o.object_type, 'id' AS matched_on
    FROM object o
    WHERE o.object_id ILIKE '%' || $text || '%'
    UNION ALL
    SELECT eo.object_id, o.object_type, 'person ' || any_value(e.actor) AS matched_on
    FROM event e
    JOIN event_object eo USING (event_id)
    JOIN object o ON o.object_id = eo.object_id
    WHERE e.actor ILIKE $text AND e.actor_kind IS DISTINCT FROM $service
    GROUP BY eo.object_id, o.object_type
)
SELECT h.object_id, h.object_type, any_value(h.matched_on) AS matched_on,
       count(DISTINCT eo.event_id) AS events, min(e.ts) AS first_event, max(e.ts) AS last_event
FROM hits h
LEFT JOIN event_object eo ON eo.object_id = h.object_id
LEFT JOIN event e ON e.event_id = eo.event_id
WHERE $types IS NULL OR list_contains($types::VARCHAR[], h.object_type)
GROUP BY h.object_id, h.object_type
ORDER BY list_position($types::VARCHAR[], h.object_type) NULLS LAST, events DESC, h.object_id
LIMIT $limit;
