-- Upsert a batch into core.vvix_daily on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.vvix_daily AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.close)
    IS DISTINCT FROM (s.close) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
