-- One sweep's record.
SELECT * FROM results.sweep_runs WHERE sweep_id = $sweep_id;
