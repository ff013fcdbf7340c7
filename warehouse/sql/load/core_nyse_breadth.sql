-- Upsert a batch into core.nyse_breadth on (date).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.nyse_breadth AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.advancing, t.declining, t.unchanged, t.adv_volume, t.decl_volume, t.unch_volume, t.new_highs, t.new_lows, t.total_issues, t.ad_line)
    IS DISTINCT FROM (s.advancing, s.declining, s.unchanged, s.adv_volume, s.decl_volume, s.unch_volume, s.new_highs, s.new_lows, s.total_issues, s.ad_line) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
