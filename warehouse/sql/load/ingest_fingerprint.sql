-- Remember the inputs of a series' successful load (same transaction as the load).
INSERT OR REPLACE INTO ingest_fingerprints (series, fingerprint, ingest_run_id)
VALUES ($series, $fingerprint, $run_id);
