-- Write rows of results.walk_forward_daily from relation `incoming` (columns by name).
-- Keys are deterministic hashes of the inputs, so a re-run replaces rows with equal ones.
INSERT OR REPLACE INTO results.walk_forward_daily BY NAME SELECT * FROM incoming;
