-- Upsert a batch into core.vx_term_structure on (trade_date, month).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.vx_term_structure AS t
USING incoming AS s
ON t.trade_date = s.trade_date AND t.month = s.month
WHEN MATCHED AND (t.contract, t.expiry, t.days_to_expiry, t.settle)
    IS DISTINCT FROM (s.contract, s.expiry, s.days_to_expiry, s.settle) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
