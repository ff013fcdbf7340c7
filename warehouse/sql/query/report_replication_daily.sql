-- One replication run's daily rows.
SELECT * FROM results.replication_daily WHERE run_id = $run_id ORDER BY index_name, date;
