-- Write rows of results.replication_daily from relation `incoming` (columns by name).
-- run_id is a hash of the inputs, so a re-run replaces rows with equal ones.
INSERT OR REPLACE INTO results.replication_daily BY NAME SELECT * FROM incoming;
