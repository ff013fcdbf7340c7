-- Keep rejected rows with their reason. Input: relation `incoming`
-- (series, location, line, raw, reason, ingest_run_id). A row rejected again for the
-- same reason keeps the run id that first quarantined it.
MERGE INTO quarantine AS t
USING incoming AS s
ON t.series = s.series AND t.location = s.location AND t.line = s.line AND t.reason = s.reason
WHEN MATCHED AND t.raw IS DISTINCT FROM s.raw THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
