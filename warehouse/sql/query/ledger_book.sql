-- Every version of every day of one book in results.signal_ledger.
SELECT * FROM results.signal_ledger WHERE config_hash = $config_hash ORDER BY as_of, version;
