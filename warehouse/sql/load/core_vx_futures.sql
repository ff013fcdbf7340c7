-- Upsert a batch into core.vx_futures on (trade_date, contract).
-- Input: relation `incoming` with the table's columns in order. A matched row is
-- updated (values and provenance) only when a value differs; returns one action per
-- inserted or updated row, so unchanged = batch rows - returned rows.
MERGE INTO core.vx_futures AS t
USING incoming AS s
ON t.trade_date = s.trade_date AND t.contract = s.contract
WHEN MATCHED AND (t.contract_type, t.expiry, t.open, t.high, t.low, t.close, t.settle, t.change, t.volume, t.efp, t.open_interest, t.suspect_settle)
    IS DISTINCT FROM (s.contract_type, s.expiry, s.open, s.high, s.low, s.close, s.settle, s.change, s.volume, s.efp, s.open_interest, s.suspect_settle) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
