-- name: case_variant
-- One case's variant (its activities in order), as mining derived it at load.
SELECT case_id, variant
FROM case_variant
WHERE object_type = $object_type AND case_id = $case_id;
