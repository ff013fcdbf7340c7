-- Record parsed rows in the raw layer, one per natural key per file.
-- Input: relation `incoming` (series, location, natural_key, line, payload, ingest_run_id).
-- An unchanged row keeps the run id that first stored it.
MERGE INTO raw.rows AS t
USING incoming AS s
ON t.series = s.series AND t.location = s.location AND t.natural_key = s.natural_key
WHEN MATCHED AND (t.line, t.payload) IS DISTINCT FROM (s.line, s.payload) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
