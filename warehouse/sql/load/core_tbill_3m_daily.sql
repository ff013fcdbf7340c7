-- Upsert a batch into core.tbill_3m_daily on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.tbill_3m_daily AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.rate_pct)
    IS DISTINCT FROM (s.rate_pct) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
