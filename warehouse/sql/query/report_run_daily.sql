-- One backtest run's daily rows, in date order.
SELECT * FROM results.backtest_daily WHERE run_id = $run_id ORDER BY date;
