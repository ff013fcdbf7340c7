-- Per-series outcome of the most recent ingest run.
SELECT series, status, rows_read, rows_inserted AS inserted, rows_updated AS updated,
       rows_unchanged AS unchanged, rows_quarantined AS quarantined, rows_skipped AS skipped,
       rows_superseded AS superseded,
       coalesce(error, '') AS error,
       coalesce(array_to_string(warnings, '; '), '') AS warnings
FROM ingest_runs
WHERE run_id = (SELECT run_id FROM ingest_runs ORDER BY started_at DESC LIMIT 1)
ORDER BY started_at, series;
