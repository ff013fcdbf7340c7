-- Write rows of results.backtest_metrics from relation `incoming` (columns by name).
-- Keys are deterministic hashes of the inputs, so a re-run replaces rows with equal ones.
INSERT OR REPLACE INTO results.backtest_metrics BY NAME SELECT * FROM incoming;
