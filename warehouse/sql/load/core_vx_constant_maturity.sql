-- Upsert a batch into core.vx_constant_maturity on (trade_date, tenor_days).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.vx_constant_maturity AS t
USING incoming AS s
ON t.trade_date = s.trade_date AND t.tenor_days = s.tenor_days
WHEN MATCHED AND (t.settle, t.near_contract, t.far_contract, t.near_weight)
    IS DISTINCT FROM (s.settle, s.near_contract, s.far_contract, s.near_weight) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
