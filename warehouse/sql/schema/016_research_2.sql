-- Research 2.0: the spread model fitted across eras, the fill share as a sweep dimension,
-- the hedge sized to the portfolio (hedge_on_equity), the daily EWMA controller
-- (controller_halflife), trial families and statistics that
-- measure what they claim.
--
-- results.calibrations  grain: one calibration id (transforms.calibration).  PK (calibration_id)
--   kind: what was fitted ('spread'); samples: each quote sample's name, file, first and
--   last day, quotes and VIX range; terms: each term's estimate and standard error (NaN:
--   not identified by the samples); sample_errors: how the fit prices each sample.
-- results.trials.family: trials that share a cost model, fill, calibration id and data
--   snapshot (transforms.selection.trials.trial_family); the DSR deflates within it.
CREATE TABLE IF NOT EXISTS results.calibrations (
    calibration_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    is_default BOOLEAN NOT NULL,
    samples JSON NOT NULL,
    terms JSON NOT NULL,
    sample_errors JSON NOT NULL,
    code_version VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (calibration_id)
);
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS spx_fill DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS hedge_on_equity BOOLEAN;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS controller_halflife DOUBLE;
ALTER TABLE results.trials ADD COLUMN IF NOT EXISTS family VARCHAR;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS pbo_survivors DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS pbo_survivor_configs INTEGER;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS ruin_rate DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS trial_family VARCHAR;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS snapshot_trials INTEGER;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_hedge_cost DOUBLE;

-- results.frontier  grain: one R-squared band and hedge sizing rule of one sweep
--   (alvh sweep --frontier; transforms.backtest.frontier).  PK (sweep_id, band_low, band_high, rule)
--   config_hash: the configuration with the most time in band before the hold-out (NULL:
--   none lived); every other figure after the hold-out: time in band (60 sessions; 120
--   and 250 as diagnostics), the out-of-band days by level and by variability, the
--   R-squared's mean and standard deviation, the hedge's P&L per year of equity.
CREATE TABLE IF NOT EXISTS results.frontier (
    sweep_id VARCHAR NOT NULL,
    band_low DOUBLE NOT NULL,
    band_high DOUBLE NOT NULL,
    rule VARCHAR NOT NULL,
    configurations INTEGER NOT NULL,
    config_hash VARCHAR,
    hedge_ratio DOUBLE,
    in_sample_time_in_band DOUBLE,
    oos_days DOUBLE,
    time_in_band DOUBLE,
    out_level DOUBLE,
    out_variability DOUBLE,
    r2_mean DOUBLE,
    r2_std DOUBLE,
    hedge_pnl_per_year DOUBLE,
    time_in_band_120 DOUBLE,
    time_in_band_250 DOUBLE,
    PRIMARY KEY (sweep_id, band_low, band_high, rule)
);
