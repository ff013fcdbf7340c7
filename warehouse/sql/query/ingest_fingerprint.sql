-- The fingerprint of a series' last successful load (no row if never loaded).
SELECT fingerprint, ingest_run_id FROM ingest_fingerprints WHERE series = $series;
