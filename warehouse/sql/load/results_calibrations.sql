-- Write rows of results.calibrations from relation `incoming` (columns by name).
-- A calibration id is a hash of what was fitted, so a re-fit replaces its row with an equal one.
INSERT OR REPLACE INTO results.calibrations BY NAME SELECT * FROM incoming;
