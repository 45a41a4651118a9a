-- Rejected records (`p2pobs deadletters`, the Data health page).
-- Filters: $source (a source as stored, or its trailing path, e.g. "erp.csv"; NULL for all),
-- $reason (text the reason contains, case-insensitive; NULL for all), $include_replayed.

-- name: letters
SELECT letter_id, source, position, reason, mapping, batch_id, received_at, replayed_in
FROM dead_letter
WHERE ($source IS NULL OR source = $source OR ends_with(source, '/' || $source))
  AND ($reason IS NULL OR contains(lower(reason), lower($reason)))
  AND ($include_replayed OR replayed_in IS NULL)
ORDER BY source, try_cast(regexp_extract(position, '[0-9]+') AS BIGINT) NULLS LAST, position, letter_id
LIMIT $limit;

-- name: by_reason
SELECT source, reason, count(*) AS records, count(replayed_in) AS replayed,
       min(position) AS first_position
FROM dead_letter
WHERE ($source IS NULL OR source = $source OR ends_with(source, '/' || $source))
  AND ($reason IS NULL OR contains(lower(reason), lower($reason)))
  AND ($include_replayed OR replayed_in IS NULL)
GROUP BY ALL
ORDER BY records DESC, source, reason;

-- name: letter
-- One letter by its id or a unique prefix of it (at most two rows: two mean the prefix is ambiguous).
SELECT letter_id, source, position, reason, mapping, batch_id, received_at, replayed_in, raw, context
FROM dead_letter
WHERE starts_with(letter_id, lower($letter_id))
ORDER BY letter_id
LIMIT 2;

-- name: to_replay
-- The letters a replay re-reads: not yet replayed, in source order.
SELECT letter_id, source, position, raw, context
FROM dead_letter
WHERE replayed_in IS NULL
  AND ($source IS NULL OR source = $source OR ends_with(source, '/' || $source))
ORDER BY source, try_cast(regexp_extract(position, '[0-9]+') AS BIGINT) NULLS LAST, position, letter_id;
