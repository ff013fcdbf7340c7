-- Every VX futures row with the canonical columns, for deriving the curve tables.
SELECT trade_date, contract, contract_type, expiry, open, high, low, close, settle, change,
       volume, efp, open_interest, suspect_settle
FROM core.vx_futures ORDER BY trade_date, contract;
