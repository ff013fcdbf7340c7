-- The trial registry on one data snapshot, but for one sweep's own rows (its re-run
-- must count the same trials as its first run). family: NULL for trials recorded
-- before families existed (counted snapshot-wide only).
SELECT returns_hash, family, sharpe, overlay_sharpe, ruined
FROM results.trials
WHERE data_snapshot = $snapshot AND source_id <> $source_id;
