-- The latest version of each as-of day of one book in results.signal_ledger, oldest first.
SELECT * FROM results.signal_ledger
WHERE config_hash = $config_hash
QUALIFY version = max(version) OVER (PARTITION BY as_of)
ORDER BY as_of;
