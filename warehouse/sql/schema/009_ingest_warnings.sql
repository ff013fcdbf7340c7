-- Warnings of a series' load that did not block it (ingest_runs.warnings), e.g. a newer
-- file that lacks sessions the warehouse already holds (the stored rows are kept).
--
-- ingest_runs   grain: one row per series per ingest run.   PK (run_id, series)
ALTER TABLE ingest_runs ADD COLUMN IF NOT EXISTS warnings VARCHAR[];
