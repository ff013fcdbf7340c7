-- Stored rows of one sweep for the configurations of relation `incoming` (a batch of a
-- re-run, compared with them before it is written).
SELECT * FROM results.sweep_results
WHERE sweep_id = $sweep_id AND config_hash IN (SELECT config_hash FROM incoming);
