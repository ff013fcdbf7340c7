-- Stored rows of one sweep (compared with a re-run's before it is written).
SELECT * FROM results.sweep_results WHERE sweep_id = $sweep_id;
