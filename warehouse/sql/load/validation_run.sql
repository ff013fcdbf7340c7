-- Record one suite run (insert or overwrite).
INSERT OR REPLACE INTO validation_runs
    (validation_id, table_name, suite, validated_at, rows_validated, evaluated, failed,
     warnings, success, blocked, summary)
VALUES ($validation_id, $table_name, $suite, now()::TIMESTAMP, $rows_validated, $evaluated,
        $failed, $warnings, $success, $blocked, $summary);
