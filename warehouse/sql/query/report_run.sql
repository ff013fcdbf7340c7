-- One backtest run's record and metrics (the report's backtest page).
SELECT * FROM results.backtest_runs r JOIN results.backtest_metrics m USING (run_id)
WHERE r.run_id = $run_id;
