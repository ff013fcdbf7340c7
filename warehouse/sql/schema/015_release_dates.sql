-- Release dates of both BLS prints: CPI and PPI (the live feed dates each from FRED's
-- first vintages), so PPI values too are dated by their release where it is known.
--
-- core.release_dates  grain: one reference month of one release.  PK (release, reference_month)
--   release: 'CPI' or 'PPI' (transforms.columns.RELEASES); note: set when the listed date
--   is not a confirmed release (e.g. the 2025 shutdown's original schedule).
-- Replaces core.cpi_release_dates, whose rows become the 'CPI' release.
CREATE TABLE IF NOT EXISTS core.release_dates (
    release VARCHAR NOT NULL, reference_month DATE NOT NULL, release_date DATE NOT NULL,
    note VARCHAR, source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL,
    PRIMARY KEY (release, reference_month)
);
INSERT INTO core.release_dates
SELECT 'CPI', reference_month, release_date, note, source, ingest_run_id
FROM core.cpi_release_dates;
DROP TABLE core.cpi_release_dates;
-- The ingest records runs and fingerprints by series name: the series is renamed too.
UPDATE ingest_fingerprints SET series = 'release_dates' WHERE series = 'cpi_release_dates';
