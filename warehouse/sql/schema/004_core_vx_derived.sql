-- Tables derived from core.vx_futures after each ingest (transforms.vx).
--
-- core.vx_term_structure     grain: one curve month (1..9) on one trade date.  PK (trade_date, month)
--   Monthly contracts with expiry > trade_date, a settle and no suspect flag, by expiry.
-- core.vx_constant_maturity  grain: one tenor on one trade date.               PK (trade_date, tenor_days)
--   Linear in calendar days to expiry between the monthlies around the tenor.
CREATE TABLE IF NOT EXISTS core.vx_term_structure (
    trade_date DATE NOT NULL, month INTEGER NOT NULL, contract VARCHAR NOT NULL,
    expiry DATE NOT NULL, days_to_expiry INTEGER NOT NULL, settle DOUBLE NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL,
    PRIMARY KEY (trade_date, month)
);

CREATE TABLE IF NOT EXISTS core.vx_constant_maturity (
    trade_date DATE NOT NULL, tenor_days INTEGER NOT NULL, settle DOUBLE NOT NULL,
    near_contract VARCHAR NOT NULL, far_contract VARCHAR, near_weight DOUBLE NOT NULL,
    source VARCHAR NOT NULL, ingest_run_id VARCHAR NOT NULL,
    PRIMARY KEY (trade_date, tenor_days)
);
