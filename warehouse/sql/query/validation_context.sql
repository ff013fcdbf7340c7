-- The NYSE sessions and the span of core.trading_calendar (for calendar rules).
SELECT date, nyse_open FROM core.trading_calendar ORDER BY date;
