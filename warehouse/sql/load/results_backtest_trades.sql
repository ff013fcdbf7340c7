-- Write rows of results.backtest_trades from relation `incoming` (columns by name).
-- Keys are deterministic hashes of the inputs, so a re-run replaces rows with equal ones.
INSERT OR REPLACE INTO results.backtest_trades BY NAME SELECT * FROM incoming;
