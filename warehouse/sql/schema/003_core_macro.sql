-- Core macro tables. Values are index levels by reference month (first day of month).
--
-- core.macro_monthly      grain: one value of one series for one reference month as
--                         known from one vintage date.    PK (series_id, reference_month, vintage_date)
--   The first vintage of a month is dated by its public date; a revised value seen by a
--   later ingest becomes a new vintage dated max(public_date, that ingest's as-of date),
--   so "what was known on day d" is the latest vintage with vintage_date <= d.
-- core.cpi_release_dates  grain: one CPI reference month.  PK (reference_month)
CREATE TABLE IF NOT EXISTS core.macro_monthly (
    series_id VARCHAR NOT NULL,
    reference_month DATE NOT NULL,
    vintage_date DATE NOT NULL,
    value DOUBLE NOT NULL,
    public_date DATE NOT NULL,
    public_date_rule VARCHAR NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL,
    PRIMARY KEY (series_id, reference_month, vintage_date)
);

CREATE TABLE IF NOT EXISTS core.cpi_release_dates (
    reference_month DATE PRIMARY KEY, release_date DATE NOT NULL, note VARCHAR,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

-- The latest known value of each series and month (what a query "as of now" sees).
CREATE OR REPLACE VIEW core.macro_latest AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (
        PARTITION BY series_id, reference_month ORDER BY vintage_date DESC) AS rn
    FROM core.macro_monthly
) WHERE rn = 1;
