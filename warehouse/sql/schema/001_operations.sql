-- Operational tables: schema versions, ingest runs, quarantine, and the raw layer.
--
-- schema_version   grain: one row per applied schema file.            PK (version)
-- ingest_runs      grain: one row per series per ingest run.          PK (run_id, series)
-- quarantine       grain: one rejected row of one file, per reason.   PK (series, location, line, reason)
-- ingest_fingerprints grain: one series.                             PK (series)
--   The inputs (file hashes, parser code version) of the series' last successful load;
--   an ingest whose inputs match it skips the series without reading it again.
-- raw.rows         grain: one parsed row per natural key per file.    PK (series, location, natural_key)
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id            VARCHAR NOT NULL,
    series            VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    locations         VARCHAR[],
    started_at        TIMESTAMP NOT NULL,
    finished_at       TIMESTAMP,
    rows_read         BIGINT,
    rows_skipped      BIGINT,
    rows_superseded   BIGINT,
    rows_inserted     BIGINT,
    rows_updated      BIGINT,
    rows_unchanged    BIGINT,
    rows_quarantined  BIGINT,
    status            VARCHAR NOT NULL CHECK (status IN ('succeeded', 'unchanged', 'failed', 'absent')),
    error             VARCHAR,
    PRIMARY KEY (run_id, series)
);

CREATE TABLE IF NOT EXISTS quarantine (
    series         VARCHAR NOT NULL,
    location       VARCHAR NOT NULL,
    line           BIGINT NOT NULL,
    raw            VARCHAR,
    reason         VARCHAR NOT NULL,
    ingest_run_id  VARCHAR NOT NULL,
    PRIMARY KEY (series, location, line, reason)
);

CREATE TABLE IF NOT EXISTS ingest_fingerprints (
    series         VARCHAR PRIMARY KEY,
    fingerprint    VARCHAR NOT NULL,
    ingest_run_id  VARCHAR NOT NULL
);

CREATE SCHEMA IF NOT EXISTS raw;

CREATE TABLE IF NOT EXISTS raw.rows (
    series         VARCHAR NOT NULL,
    location       VARCHAR NOT NULL,
    natural_key    VARCHAR NOT NULL,
    line           BIGINT NOT NULL,
    payload        JSON NOT NULL,
    ingest_run_id  VARCHAR NOT NULL,
    PRIMARY KEY (series, location, natural_key)
);
