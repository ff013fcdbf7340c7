-- Upsert a batch into core.vix3m_daily on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.vix3m_daily AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.open, t.high, t.low, t.close)
    IS DISTINCT FROM (s.open, s.high, s.low, s.close) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
