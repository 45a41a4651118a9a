-- Exports: OCEL 2.0 (SQLite, JSON), XES and audit packs (models/exports.py).
-- What is exported is chosen first, as two id lists the caller registers as `export_event`
-- (event_id) and `export_object` (object_id); every content block reads through them.
-- $ocel_system: the source system the OCEL importer gives events it reads without a mapping;
-- such events' ids lose that prefix in the file, so re-importing the file gives the same ids.

-- name: select_events
-- Events in the period ($start, $end: days, inclusive), of the facilities, naming one of the
-- suppliers (E2O to a supplier object), related to an object of $object_types, or related to
-- one of $objects. NULL: no narrowing.
SELECT e.event_id
FROM event e
WHERE ($start IS NULL OR e.ts >= $start::DATE)
  AND ($end IS NULL OR e.ts < $end::DATE + INTERVAL 1 DAY)
  AND ($facilities IS NULL OR list_contains($facilities::VARCHAR[], e.facility))
  AND ($suppliers IS NULL OR e.event_id IN (
        SELECT r.event_id FROM event_object r JOIN object o ON o.object_id = r.object_id
        WHERE o.object_type = $supplier_type AND list_contains($suppliers::VARCHAR[], r.object_id)))
  AND ($object_types IS NULL OR e.event_id IN (
        SELECT r.event_id FROM event_object r JOIN object o ON o.object_id = r.object_id
        WHERE list_contains($object_types::VARCHAR[], o.object_type)))
  AND ($objects IS NULL OR e.event_id IN (
        SELECT r.event_id FROM event_object r WHERE list_contains($objects::VARCHAR[], r.object_id)));

-- name: select_objects
-- Every object when nothing narrows ($everything), else the objects named in $objects and
-- those the selected events relate to; always only of $object_types when given.
SELECT o.object_id
FROM object o
WHERE ($object_types IS NULL OR list_contains($object_types::VARCHAR[], o.object_type))
  AND ($everything
       OR list_contains(coalesce($objects::VARCHAR[], []), o.object_id)
       OR o.object_id IN (SELECT r.object_id FROM event_object r SEMI JOIN export_event x ON x.event_id = r.event_id));

-- name: event_attribute_types
-- Per event type and attribute: the JSON types its values take, and whether every text value
-- is an ISO time in UTC as the importers write them ("…Z"). Store fields that events of other
-- sources carry (source system, facility, actor, actor kind) count as attributes.
WITH ev AS (
    SELECT e.activity,
           CASE WHEN e.source_system = $ocel_system THEN coalesce(e.attributes, '{}')::JSON
                ELSE json_merge_patch(json_merge_patch('{}', json_object(
                         'source_system', e.source_system, 'facility', e.facility,
                         'actor', e.actor, 'actor_kind', e.actor_kind)),
                     coalesce(e.attributes, '{}')) END AS attrs
    FROM event e SEMI JOIN export_event x ON x.event_id = e.event_id
)
SELECT activity AS type, k AS name,
       list(DISTINCT json_type(attrs -> k) ORDER BY json_type(attrs -> k)) AS kinds,
       coalesce(bool_and(regexp_full_match(attrs ->> k, '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z'))
                FILTER (WHERE json_type(attrs -> k) = 'VARCHAR'), false) AS times
FROM ev, unnest(json_keys(attrs)) AS t(k)
GROUP BY ALL
UNION ALL
SELECT DISTINCT activity, NULL, NULL, NULL FROM ev
ORDER BY type, name NULLS FIRST;

-- name: object_attribute_types
-- The same for object types, over the values objects take over time.
WITH vals AS (
    SELECT o.object_type, c.attribute, c.value
    FROM object_change c JOIN object o ON o.object_id = c.object_id
    SEMI JOIN export_object x ON x.object_id = c.object_id
    UNION ALL
    SELECT o.object_type, k, o.attributes -> k
    FROM object o SEMI JOIN export_object x ON x.object_id = o.object_id, unnest(json_keys(o.attributes)) AS t(k)
)
SELECT object_type AS type, attribute AS name,
       list(DISTINCT json_type(value) ORDER BY json_type(value)) AS kinds,
       coalesce(bool_and(regexp_full_match(value ->> '$', '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z'))
                FILTER (WHERE json_type(value) = 'VARCHAR'), false) AS times
FROM vals GROUP BY ALL
UNION ALL
SELECT DISTINCT o.object_type, NULL, NULL, NULL FROM object o SEMI JOIN export_object x ON x.object_id = o.object_id
ORDER BY type, name NULLS FIRST;

-- name: events
-- The selected events in their sources' order (load, then position in the source): id as in the
-- file, type, time as ISO text in UTC, attributes (JSON) and the related objects with qualifiers
-- (objects selected, or known to no object row: links are kept as the store has them).
WITH rel AS (
    SELECT r.event_id,
           list({'objectId': r.object_id, 'qualifier': r.qualifier} ORDER BY r.object_id, r.qualifier) AS rels
    FROM event_object r SEMI JOIN export_event x ON x.event_id = r.event_id
    WHERE r.object_id IN (SELECT object_id FROM export_object)
       OR r.object_id NOT IN (SELECT object_id FROM object)
    GROUP BY r.event_id
)
SELECT CASE WHEN e.source_system = $ocel_system AND starts_with(e.event_id, $ocel_system || ':')
            THEN substr(e.event_id, length($ocel_system) + 2) ELSE e.event_id END AS id,
       e.activity AS type,
       strftime(e.ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS time,
       (CASE WHEN e.source_system = $ocel_system THEN coalesce(e.attributes, '{}')::JSON
             ELSE json_merge_patch(json_merge_patch('{}', json_object(
                      'source_system', e.source_system, 'facility', e.facility,
                      'actor', e.actor, 'actor_kind', e.actor_kind)),
                  coalesce(e.attributes, '{}')) END)::VARCHAR AS attributes,
       coalesce(rel.rels, []) AS relationships
FROM event e SEMI JOIN export_event x ON x.event_id = e.event_id
LEFT JOIN rel ON rel.event_id = e.event_id
ORDER BY e.batch_id, e.source_order, e.event_id;

-- name: objects
-- The selected objects by type and id, each with its links to other objects (O2O, kept as for
-- events: to selected objects or to ids no object row holds) and, with $with_values, its
-- attribute values over time as object_values gives them.
WITH rel AS (
    SELECT r.source_id,
           list({'objectId': r.target_id, 'qualifier': r.qualifier} ORDER BY r.target_id, r.qualifier) AS rels
    FROM object_object r SEMI JOIN export_object x ON x.object_id = r.source_id
    WHERE r.target_id IN (SELECT object_id FROM export_object)
       OR r.target_id NOT IN (SELECT object_id FROM object)
    GROUP BY r.source_id
),
vals AS (
    SELECT c.object_id, c.ts, c.attribute, c.value
    FROM object_change c SEMI JOIN export_object x ON x.object_id = c.object_id
    WHERE $with_values
    UNION ALL
    SELECT o.object_id, TIMESTAMP '1970-01-01', k, o.attributes -> k
    FROM object o SEMI JOIN export_object x ON x.object_id = o.object_id, unnest(json_keys(o.attributes)) AS t(k)
    WHERE $with_values
      AND NOT EXISTS (SELECT 1 FROM object_change c WHERE c.object_id = o.object_id AND c.attribute = k)
),
timed AS (
    SELECT object_id,
           list({'name': attribute, 'time': strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ'), 'value': value::VARCHAR}
                ORDER BY ts, attribute) AS vals
    FROM vals GROUP BY object_id
)
SELECT o.object_id AS id, o.object_type AS type, coalesce(timed.vals, []) AS attributes,
       coalesce(rel.rels, []) AS relationships
FROM object o SEMI JOIN export_object x ON x.object_id = o.object_id
LEFT JOIN rel ON rel.source_id = o.object_id
LEFT JOIN timed ON timed.object_id = o.object_id
ORDER BY o.object_type, o.object_id;

-- name: object_values
-- Every value the selected objects' attributes take, with its time: each recorded change, and
-- attributes known only as first seen (no change recorded) at the OCEL 2.0 "initial value" time,
-- 1970-01-01. `initial`: the object's earliest time, a non-null value (SQLite: one row for all).
WITH vals AS (
    SELECT c.object_id, c.ts, c.attribute, c.value
    FROM object_change c SEMI JOIN export_object x ON x.object_id = c.object_id
    UNION ALL
    SELECT o.object_id, TIMESTAMP '1970-01-01', k, o.attributes -> k
    FROM object o SEMI JOIN export_object x ON x.object_id = o.object_id, unnest(json_keys(o.attributes)) AS t(k)
    WHERE NOT EXISTS (SELECT 1 FROM object_change c WHERE c.object_id = o.object_id AND c.attribute = k)
)
SELECT o.object_type AS type, v.object_id AS id, strftime(v.ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS time,
       v.attribute AS name, v.value::VARCHAR AS value,
       v.ts = min(v.ts) OVER (PARTITION BY v.object_id) AND json_type(v.value) IS DISTINCT FROM 'NULL' AS initial
FROM vals v JOIN object o ON o.object_id = v.object_id
ORDER BY o.object_type, v.object_id, v.ts, v.attribute;

-- name: xes_cases
-- Cases of one object type, chosen as the process views choose them: first event in the period,
-- all events at one of the facilities, an event naming one of the suppliers, or one of $objects.
-- In the order their events were loaded (load, position in the source: a log read from XES is
-- written back in its own order), with the object's attributes as first seen.
WITH loaded AS (
    SELECT c.case_id, min([e.batch_id, lpad(e.source_order::VARCHAR, 20, '0')]) AS first_loaded
    FROM case_event c JOIN event e ON e.event_id = c.event_id
    WHERE c.object_type = $object_type
    GROUP BY c.case_id
)
SELECT v.case_id, o.attributes::VARCHAR AS attributes,
       row_number() OVER (ORDER BY l.first_loaded, v.case_id) AS ordinal
FROM case_variant v
JOIN object o ON o.object_id = v.case_id
JOIN loaded l ON l.case_id = v.case_id
WHERE v.object_type = $object_type
  AND ($start IS NULL OR v.start_ts >= $start::DATE)
  AND ($end IS NULL OR v.start_ts < $end::DATE + INTERVAL 1 DAY)
  AND ($facilities IS NULL OR list_contains($facilities::VARCHAR[], v.case_facility))
  AND ($objects IS NULL OR list_contains($objects::VARCHAR[], v.case_id))
  AND ($suppliers IS NULL OR v.case_id IN (
        SELECT c.case_id FROM case_event c JOIN event_object r ON r.event_id = c.event_id
        JOIN object s ON s.object_id = r.object_id
        WHERE c.object_type = $object_type AND s.object_type = $supplier_type
          AND list_contains($suppliers::VARCHAR[], r.object_id)))
ORDER BY ordinal;

-- name: xes_events
-- The events of the chosen cases (registered as `export_case`), in case order (ts, source_order).
SELECT c.case_id, e.activity, strftime(e.ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS time, e.actor,
       e.attributes::VARCHAR AS attributes
FROM case_event c
JOIN export_case x ON x.case_id = c.case_id
JOIN event e ON e.event_id = c.event_id
WHERE c.object_type = $object_type
ORDER BY x.ordinal, c.position;

-- name: case_documents
-- The audit pack's documents: the case's objects with their attributes as first seen and every
-- recorded change, in time order.
SELECT o.object_id, o.object_type, o.source_system, o.attributes::VARCHAR AS attributes,
       coalesce((SELECT list({'ts': strftime(c.ts, '%Y-%m-%dT%H:%M:%S.%fZ'), 'attribute': c.attribute,
                               'value': c.value::VARCHAR} ORDER BY c.ts, c.attribute)
                 FROM object_change c WHERE c.object_id = o.object_id), []) AS changes
FROM object o SEMI JOIN export_object x ON x.object_id = o.object_id
ORDER BY o.object_type, o.object_id;

-- name: case_spans
-- The spans that carried the case's events (p2p.event.id) or name one of its objects (p2p.object.id).
SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.service,
       strftime(s.start_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS start_time,
       strftime(s.end_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS end_time,
       s.status_code, s.status_message, s.attributes::VARCHAR AS attributes,
       s.resource::VARCHAR AS resource, s.scope, s.events::VARCHAR AS events, s.links::VARCHAR AS links
FROM span s
WHERE s.attributes ->> '$."p2p.event.id"' IN (SELECT event_id FROM export_event)
   OR s.attributes ->> '$."p2p.object.id"' IN (SELECT object_id FROM export_object)
ORDER BY s.start_time, s.trace_id, s.span_id;
