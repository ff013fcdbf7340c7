-- Upsert recomputed signals into signals.signals_daily on (date).
-- Input: relation `incoming` with the table's columns in order plus signal_run_id.
-- A row is updated only when a value differs; returns one action per changed row.
MERGE INTO signals.signals_daily AS t
USING incoming AS s
ON t.date = s.date
WHEN MATCHED AND (t.spx_close, t.spx_log_return, t.spx_rvol_20, t.vix_close, t.vix_rsi_14, t.vx_front_rsi_14, t.vvix_close, t.vix_vix3m_ratio, t.ad_line, t.ad_macd, t.ad_macd_signal, t.ad_macd_hist, t.breadth_divergence, t.breadth_note, t.vx_m1, t.vx_m2, t.vx_m3, t.vx_m4, t.dte_m1, t.dte_m2, t.dte_m3, t.dte_m4, t.m1_m2_spread, t.m2_m3_spread, t.contango_pct, t.backwardation, t.roll_yield_m1, t.roll_yield_m2, t.roll_yield_m3, t.roll_yield_m4, t.vx_cm30, t.vx_cm30_macd, t.vx_cm30_macd_signal, t.vx_cm30_macd_hist, t.vx_cm30_spx_beta_60, t.vx_cm30_spx_r2_60, t.cpi_month, t.cpi_yoy, t.ppi_month, t.ppi_yoy, t.macro_month, t.cpi_ppi_spread, t.cpi_ppi_z, t.cpi_ppi_divergence, t.fomc_day, t.days_to_next_fomc, t.week_start, t.week_id, t.breadth_series)
    IS DISTINCT FROM (s.spx_close, s.spx_log_return, s.spx_rvol_20, s.vix_close, s.vix_rsi_14, s.vx_front_rsi_14, s.vvix_close, s.vix_vix3m_ratio, s.ad_line, s.ad_macd, s.ad_macd_signal, s.ad_macd_hist, s.breadth_divergence, s.breadth_note, s.vx_m1, s.vx_m2, s.vx_m3, s.vx_m4, s.dte_m1, s.dte_m2, s.dte_m3, s.dte_m4, s.m1_m2_spread, s.m2_m3_spread, s.contango_pct, s.backwardation, s.roll_yield_m1, s.roll_yield_m2, s.roll_yield_m3, s.roll_yield_m4, s.vx_cm30, s.vx_cm30_macd, s.vx_cm30_macd_signal, s.vx_cm30_macd_hist, s.vx_cm30_spx_beta_60, s.vx_cm30_spx_r2_60, s.cpi_month, s.cpi_yoy, s.ppi_month, s.ppi_yoy, s.macro_month, s.cpi_ppi_spread, s.cpi_ppi_z, s.cpi_ppi_divergence, s.fomc_day, s.days_to_next_fomc, s.week_start, s.week_id, s.breadth_series) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
