-- VIX opening values (cross-table rule: VX final settlement near the VIX open).
SELECT date, open FROM core.vix_daily WHERE open IS NOT NULL ORDER BY date;
