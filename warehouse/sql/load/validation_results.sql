-- Record the rules of one suite run. Input: relation `incoming` with the columns of
-- validation_results.
INSERT OR REPLACE INTO validation_results BY NAME SELECT * FROM incoming;
