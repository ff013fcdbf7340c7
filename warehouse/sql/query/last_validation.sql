-- Suite results of the most recent validation run.
SELECT table_name, success, blocked, evaluated, failed, warnings, rows_validated, summary
FROM validation_runs
WHERE validation_id = (SELECT validation_id FROM validation_runs ORDER BY validated_at DESC LIMIT 1)
ORDER BY table_name;
