-- The latest succeeded backtest run of a saved book (not a sweep's re-run) with its data
-- snapshot, and the latest succeeded sweep and replication (NULL when there is none).
SELECT
    (SELECT run_id FROM results.backtest_runs
     WHERE status = 'succeeded' AND sweep_id IS NULL ORDER BY finished_at DESC LIMIT 1) AS run_id,
    (SELECT data_snapshot FROM results.backtest_runs
     WHERE status = 'succeeded' AND sweep_id IS NULL ORDER BY finished_at DESC LIMIT 1)
        AS data_snapshot,
    (SELECT sweep_id FROM results.sweep_runs
     WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1) AS sweep_id,
    (SELECT run_id FROM results.replication_runs ORDER BY created_at DESC LIMIT 1) AS replication_id;
