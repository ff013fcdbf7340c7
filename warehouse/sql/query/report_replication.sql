-- The latest replication run's summary rows (by the time its rows were written).
SELECT * FROM results.replication_runs
WHERE run_id = (SELECT run_id FROM results.replication_runs ORDER BY created_at DESC LIMIT 1)
ORDER BY index_name, "window", frequency;
