-- Core market tables: typed, validated, one row per natural key.
-- Every core table carries `source` (file or URL the row came from) and
-- `ingest_run_id` (the run that inserted or last changed it).
--
-- core.trading_calendar  grain: one weekday.                       PK (date)
-- core.spx_daily         grain: one NYSE session.                  PK (date)
-- core.vix_daily         grain: one Cboe index day.                PK (date)
-- core.vix3m_daily       grain: one Cboe index day.                PK (date)
-- core.vvix_daily        grain: one Cboe index day.                PK (date)
-- core.vx_futures        grain: one VX contract on one trade date. PK (trade_date, contract)
-- core.nyse_breadth      grain: one NYSE session.                  PK (date)
-- core.tbill_3m_daily    grain: one bond-market day.               PK (date)
-- core.fomc_meetings     grain: one FOMC announcement day.         PK (date)
CREATE SCHEMA IF NOT EXISTS core;

CREATE TABLE IF NOT EXISTS core.trading_calendar (
    date DATE PRIMARY KEY, nyse_open BOOLEAN NOT NULL, cfe_open BOOLEAN NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.spx_daily (
    date DATE PRIMARY KEY, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE NOT NULL,
    volume BIGINT, source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.vix_daily (
    date DATE PRIMARY KEY, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.vix3m_daily (
    date DATE PRIMARY KEY, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.vvix_daily (
    date DATE PRIMARY KEY, close DOUBLE NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.vx_futures (
    trade_date DATE NOT NULL,
    contract VARCHAR NOT NULL,
    contract_type VARCHAR NOT NULL CHECK (contract_type IN ('monthly', 'weekly')),
    expiry DATE NOT NULL,
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, settle DOUBLE, change DOUBLE,
    volume BIGINT, efp BIGINT, open_interest BIGINT,
    suspect_settle BOOLEAN,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL,
    PRIMARY KEY (trade_date, contract)
);

CREATE TABLE IF NOT EXISTS core.nyse_breadth (
    date DATE PRIMARY KEY,
    advancing BIGINT NOT NULL, declining BIGINT NOT NULL, unchanged BIGINT,
    adv_volume BIGINT, decl_volume BIGINT, unch_volume BIGINT,
    new_highs BIGINT, new_lows BIGINT, total_issues BIGINT, ad_line BIGINT,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.tbill_3m_daily (
    date DATE PRIMARY KEY, rate_pct DOUBLE NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS core.fomc_meetings (
    date DATE PRIMARY KEY, scheduled BOOLEAN NOT NULL, press_conference BOOLEAN, sep BOOLEAN,
    event_type VARCHAR, source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL
);
