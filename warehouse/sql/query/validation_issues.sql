-- The rules that failed or warned in one validation run (an ingest's run id, a signals
-- run id, or an `alvh validate` id), with whether their batch was blocked.
SELECT r.table_name, r.rule, r.severity, r.unexpected,
       array_to_string(r.examples, ', ') AS examples, v.blocked, coalesce(r.reason, '') AS reason
FROM validation_results AS r
JOIN validation_runs AS v USING (validation_id, table_name)
WHERE r.validation_id = $validation_id AND NOT r.success
ORDER BY r.severity, r.table_name, r.rule;
