-- Revisions: a stored value an update restates differently is never overwritten silently.
-- The ingest (flows/ingest.py, rule transforms.quality.overlap) loads a restated value
-- within tolerance (prices 1 %, counts 5 %) and keeps the value it replaces here; beyond
-- tolerance the series is refused and nothing is loaded (unless --force, which records
-- them here too).
--
-- core.revisions  grain: one value of one row of one series replaced by one ingest run.
--                 PK (series, natural_key, column_name, ingest_run_id)
--   natural_key: the row's key values joined by '|'; stored_value / new_value as text;
--   stored_source: the file the replaced value came from; location, line: the new one's.
CREATE TABLE IF NOT EXISTS core.revisions (
    series VARCHAR NOT NULL,
    natural_key VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    stored_value VARCHAR,
    new_value VARCHAR,
    stored_source VARCHAR,
    location VARCHAR NOT NULL,
    line BIGINT,
    ingest_run_id VARCHAR NOT NULL,
    revised_at TIMESTAMP NOT NULL,
    PRIMARY KEY (series, natural_key, column_name, ingest_run_id)
);
