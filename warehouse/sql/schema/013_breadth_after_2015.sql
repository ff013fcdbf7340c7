-- Breadth after 2015: S&P 500 member breadth as its own series, and the breadth series
-- each signal row used (transforms/signals/daily.py, its breadth policy).
--
-- core.sp500_breadth  grain: one NYSE session.  PK (date)
--   members: S&P 500 members counted that day; advancing / declining: members that rose /
--   fell on the session (a different universe from NYSE issues, core.nyse_breadth).
-- signals.signals_daily  grain: one SPX trading day.  PK (date)
--   gains breadth_series ('NYSE issues', 'S&P 500 members', or NULL: no breadth row that
--   day) before signal_run_id; the table is rebuilt with its rows (every breadth value
--   stored before this migration was of NYSE issues, the only series there was).
CREATE TABLE IF NOT EXISTS core.sp500_breadth (
    date DATE PRIMARY KEY,
    members BIGINT NOT NULL, advancing BIGINT NOT NULL, declining BIGINT NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

-- Label the stored rows first (idempotent: a labelled row is left as it is), then rebuild
-- the table with the column in its place.
ALTER TABLE signals.signals_daily ADD COLUMN IF NOT EXISTS breadth_series VARCHAR;
UPDATE signals.signals_daily SET breadth_series = 'NYSE issues'
WHERE breadth_series IS NULL AND ad_line IS NOT NULL;

ALTER TABLE signals.signals_daily RENAME TO signals_daily_before_013;

CREATE TABLE signals.signals_daily (
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
    breadth_series VARCHAR,
    signal_run_id VARCHAR NOT NULL,
    PRIMARY KEY (date)
);

INSERT INTO signals.signals_daily BY NAME SELECT * FROM signals.signals_daily_before_013;

DROP TABLE signals.signals_daily_before_013;
