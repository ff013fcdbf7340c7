-- Signal tables, recomputed from core by the signals flow (transforms/signals).
--
-- signals.signals_daily  grain: one SPX trading day.         PK (date)
--   Every value for day t uses only data public by t's close (see transforms.signals.daily).
-- signals.macro_signals  grain: one CPI/PPI reference month.  PK (reference_month)
--   In force from public_date (spread) / cpi_public_date / ppi_public_date, never from
--   the reference month.
CREATE SCHEMA IF NOT EXISTS signals;

CREATE TABLE IF NOT EXISTS signals.signals_daily (
    date DATE NOT NULL,
    spx_close DOUBLE NOT NULL,
    spx_log_return DOUBLE,
    spx_rvol_20 DOUBLE,
    vix_close DOUBLE,
    vix_rsi_14 DOUBLE,
    vx_front_rsi_14 DOUBLE,
    vvix_close DOUBLE,
    vix_vix3m_ratio DOUBLE,
    ad_line BIGINT,
    ad_macd DOUBLE,
    ad_macd_signal DOUBLE,
    ad_macd_hist DOUBLE,
    breadth_divergence BOOLEAN,
    breadth_note VARCHAR,
    vx_m1 DOUBLE,
    vx_m2 DOUBLE,
    vx_m3 DOUBLE,
    vx_m4 DOUBLE,
    dte_m1 INTEGER,
    dte_m2 INTEGER,
    dte_m3 INTEGER,
    dte_m4 INTEGER,
    m1_m2_spread DOUBLE,
    m2_m3_spread DOUBLE,
    contango_pct DOUBLE,
    backwardation BOOLEAN,
    roll_yield_m1 DOUBLE,
    roll_yield_m2 DOUBLE,
    roll_yield_m3 DOUBLE,
    roll_yield_m4 DOUBLE,
    vx_cm30 DOUBLE,
    vx_cm30_macd DOUBLE,
    vx_cm30_macd_signal DOUBLE,
    vx_cm30_macd_hist DOUBLE,
    vx_cm30_spx_beta_60 DOUBLE,
    vx_cm30_spx_r2_60 DOUBLE,
    cpi_month DATE,
    cpi_yoy DOUBLE,
    ppi_month DATE,
    ppi_yoy DOUBLE,
    macro_month DATE,
    cpi_ppi_spread DOUBLE,
    cpi_ppi_z DOUBLE,
    cpi_ppi_divergence BOOLEAN,
    fomc_day BOOLEAN NOT NULL,
    days_to_next_fomc INTEGER,
    week_start BOOLEAN NOT NULL,
    week_id VARCHAR NOT NULL,
    signal_run_id VARCHAR NOT NULL,
    PRIMARY KEY (date)
);

CREATE TABLE IF NOT EXISTS signals.macro_signals (
    reference_month DATE NOT NULL,
    public_date DATE,
    cpi_yoy DOUBLE,
    cpi_public_date DATE,
    ppi_yoy DOUBLE,
    ppi_public_date DATE,
    cpi_ppi_spread DOUBLE,
    cpi_ppi_z DOUBLE,
    cpi_ppi_divergence BOOLEAN,
    signal_run_id VARCHAR NOT NULL,
    PRIMARY KEY (reference_month)
);
