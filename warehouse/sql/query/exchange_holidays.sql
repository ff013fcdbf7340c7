-- Weekdays on which NYSE held no session (the holidays of the VX expiry rule).
SELECT date FROM core.trading_calendar WHERE NOT nyse_open ORDER BY date;
