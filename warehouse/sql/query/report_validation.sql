-- Rule outcomes of the most recent validation run, per table.
SELECT r.validation_id, r.table_name, r.rows_validated, r.success AS passed,
       v.rule, v.severity, v.success, v.unexpected, v.examples, v.reason, v.error
FROM validation_runs r
JOIN validation_results v USING (validation_id, table_name)
WHERE r.validation_id = (SELECT validation_id FROM validation_runs ORDER BY validated_at DESC LIMIT 1)
ORDER BY r.table_name, v.rule;
