-- Upsert a batch into core.release_dates on (release, reference_month).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.release_dates AS t
USING incoming AS s
ON t.release = s.release AND t.reference_month = s.reference_month
WHEN MATCHED AND (t.release_date, t.note)
    IS DISTINCT FROM (s.release_date, s.note) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
