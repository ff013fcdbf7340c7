-- Research integrity: cost and structure parameters, the overlay statistics, the
-- calibration a run used, the trial registry and walk-forward selection
-- (transforms/selection, written by flows/backtest.py).
--
-- results.trials              grain: one configuration evaluated on one data snapshot
--                             by one code version.  PK (data_snapshot, config_hash, code_version)
--   returns_hash: digest of the daily return series (equal series, equal hash: one
--   distinct trial); source: 'sweep' or 'backtest' and its id.
-- results.walk_forward        grain: one fold of one sweep.          PK (sweep_id, fold)
--   config_hash: the configuration chosen on the training months (NULL: none eligible);
--   train_* figures on the training months, test_* on the test months.
-- results.walk_forward_daily  grain: one out-of-sample session.      PK (sweep_id, date)
--   the stitched series: each test session's figures of its fold's choice; equity
--   compounds from 1.0.
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS returns_hash VARCHAR;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS margin_target DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS wing_pct DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS hold_to_expiry BOOLEAN;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS spx_spread_model BOOLEAN;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS spx_spread_scale DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS reserve_counts_margin BOOLEAN;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS condor_exit_effect DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS overlay_sharpe DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS overlay_skewness DOUBLE;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS overlay_kurtosis DOUBLE;

ALTER TABLE results.backtest_metrics ADD COLUMN IF NOT EXISTS condor_exit_effect DOUBLE;
ALTER TABLE results.backtest_metrics ADD COLUMN IF NOT EXISTS overlay_sharpe DOUBLE;
ALTER TABLE results.backtest_metrics ADD COLUMN IF NOT EXISTS overlay_skewness DOUBLE;
ALTER TABLE results.backtest_metrics ADD COLUMN IF NOT EXISTS overlay_kurtosis DOUBLE;

ALTER TABLE results.backtest_runs ADD COLUMN IF NOT EXISTS calibration_id VARCHAR;

ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS calibration_id VARCHAR;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS null_hypothesis VARCHAR;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS distinct_trials INTEGER;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS ruined_trials INTEGER;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS effective_trials DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS registry_trials INTEGER;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS trials_counted DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS overlay_best_config_hash VARCHAR;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS overlay_best_sharpe DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS overlay_deflated_sharpe DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS pbo DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS pbo_splits INTEGER;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS pbo_degradation DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS selection_note VARCHAR;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS walk_forward JSON;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_sharpe DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_overlay_sharpe DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_time_in_band DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_cagr DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_max_drawdown DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_hedge_cost_flat DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_offset_2008 DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_offset_2018_02 DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_offset_2018_q4 DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_offset_2020 DOUBLE;
ALTER TABLE results.sweep_runs ADD COLUMN IF NOT EXISTS oos_sessions DOUBLE;

CREATE TABLE IF NOT EXISTS results.trials (
    data_snapshot VARCHAR NOT NULL,
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    returns_hash VARCHAR NOT NULL,
    sharpe DOUBLE,
    overlay_sharpe DOUBLE,
    ruined BOOLEAN NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('sweep', 'backtest')),
    source_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (data_snapshot, config_hash, code_version)
);

CREATE TABLE IF NOT EXISTS results.walk_forward (
    sweep_id VARCHAR NOT NULL,
    fold INTEGER NOT NULL,
    train_start DATE NOT NULL,
    train_end DATE NOT NULL,
    test_start DATE NOT NULL,
    test_end DATE NOT NULL,
    config_hash VARCHAR,
    eligible INTEGER NOT NULL,
    train_metric DOUBLE,
    train_time_in_band DOUBLE,
    test_sharpe DOUBLE,
    test_overlay_sharpe DOUBLE,
    test_time_in_band DOUBLE,
    calibration_in_sample BOOLEAN NOT NULL,
    PRIMARY KEY (sweep_id, fold)
);

CREATE TABLE IF NOT EXISTS results.walk_forward_daily (
    sweep_id VARCHAR NOT NULL,
    date DATE NOT NULL,
    fold INTEGER NOT NULL,
    config_hash VARCHAR NOT NULL,
    "return" DOUBLE,
    excess DOUBLE,
    overlay DOUBLE,
    in_band BOOLEAN NOT NULL,
    has_r2 BOOLEAN NOT NULL,
    pnl_condor DOUBLE NOT NULL,
    pnl_hedge DOUBLE NOT NULL,
    prev_equity DOUBLE NOT NULL,
    equity DOUBLE NOT NULL,
    PRIMARY KEY (sweep_id, date)
);
