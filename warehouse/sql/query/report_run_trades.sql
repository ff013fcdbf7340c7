-- One backtest run's trades and events, in order.
SELECT * FROM results.backtest_trades WHERE run_id = $run_id ORDER BY seq;
