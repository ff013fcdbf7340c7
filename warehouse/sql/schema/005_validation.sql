-- Data-contract results (Great Expectations suites in expectations/).
--
-- validation_runs     grain: one suite run on one table.          PK (validation_id, table_name)
--   validation_id is the ingest run id (validation inside an ingest) or the id of an
--   `alvh validate` run; blocked = the batch was not promoted to core.
-- validation_results  grain: one rule of one suite run.           PK (validation_id, table_name, rule, frame)
CREATE TABLE IF NOT EXISTS validation_runs (
    validation_id  VARCHAR NOT NULL,
    table_name     VARCHAR NOT NULL,
    suite          VARCHAR NOT NULL,
    validated_at   TIMESTAMP NOT NULL,
    rows_validated BIGINT NOT NULL,
    evaluated      INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    warnings       INTEGER NOT NULL,
    success        BOOLEAN NOT NULL,
    blocked        BOOLEAN NOT NULL,
    summary        VARCHAR NOT NULL,
    PRIMARY KEY (validation_id, table_name)
);

CREATE TABLE IF NOT EXISTS validation_results (
    validation_id  VARCHAR NOT NULL,
    table_name     VARCHAR NOT NULL,
    rule           VARCHAR NOT NULL,
    frame          VARCHAR NOT NULL,
    severity       VARCHAR NOT NULL CHECK (severity IN ('critical', 'warning')),
    success        BOOLEAN NOT NULL,
    unexpected     BIGINT NOT NULL,
    examples       VARCHAR[],
    reason         VARCHAR,
    error          VARCHAR,
    PRIMARY KEY (validation_id, table_name, rule, frame)
);
