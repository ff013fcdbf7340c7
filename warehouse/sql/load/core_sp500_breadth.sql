-- Upsert a batch into core.sp500_breadth on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.sp500_breadth AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.members, t.advancing, t.declining)
    IS DISTINCT FROM (s.members, s.advancing, s.declining) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
