-- VX rows flagged as bad exchange prints (must stay out of the curve).
SELECT trade_date, contract FROM core.vx_futures WHERE suspect_settle ORDER BY ALL;
