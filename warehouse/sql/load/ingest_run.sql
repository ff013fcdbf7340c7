-- Record the outcome of one series in one ingest run (insert or overwrite).
INSERT OR REPLACE INTO ingest_runs
    (run_id, series, source, locations, started_at, finished_at, rows_read, rows_skipped, rows_superseded,
     rows_inserted, rows_updated, rows_unchanged, rows_quarantined, status, error, warnings)
VALUES ($run_id, $series, $source, $locations, $started_at, $finished_at, $rows_read,
        $rows_skipped, $rows_superseded, $rows_inserted, $rows_updated, $rows_unchanged, $rows_quarantined,
        $status, $error, $warnings);
