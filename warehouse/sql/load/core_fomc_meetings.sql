-- Upsert a batch into core.fomc_meetings on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.fomc_meetings AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.scheduled, t.press_conference, t.sep, t.event_type)
    IS DISTINCT FROM (s.scheduled, s.press_conference, s.sep, s.event_type) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
