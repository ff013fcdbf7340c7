-- Dates of core.spx_daily (cross-table rule: VX trades on SPX trading days).
SELECT date FROM core.spx_daily ORDER BY date;
