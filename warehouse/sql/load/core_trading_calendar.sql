-- Upsert a batch into core.trading_calendar on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.trading_calendar AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.nyse_open, t.cfe_open)
    IS DISTINCT FROM (s.nyse_open, s.cfe_open) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
