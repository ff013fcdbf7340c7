-- Sessions in signals.signals_daily (0 before the first `alvh signals`).
SELECT count(*) AS days FROM signals.signals_daily;
