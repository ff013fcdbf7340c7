-- Replication of published indices (transforms/replicate, written by flows/replicate.py).
--
-- results.replication_runs   grain: one index and window of one replication run.
--                            PK (run_id, index_name, window, frequency)
--   run_id = hash of (indices, parameters, code version, market snapshots, reference files);
--   window: full | calibration | evaluation | quoted_calls (VXTH with the real call mids);
--   fitted: the parameter calibrated for this index and its window ('' when none);
--   tracking_error: annualised std of (our - published) log returns; drift: per year.
-- results.replication_daily  grain: one date of one index of one run.  PK (run_id, index_name, date)
--   ours is rebased to the published level on the first common date; error = difference
--   of log returns (null on the first date).
CREATE SCHEMA IF NOT EXISTS results;

CREATE TABLE IF NOT EXISTS results.replication_runs (
    run_id VARCHAR NOT NULL,
    index_name VARCHAR NOT NULL,
    "window" VARCHAR NOT NULL,
    frequency VARCHAR NOT NULL CHECK (frequency IN ('daily', 'monthly')),
    fitted VARCHAR NOT NULL,
    params JSON NOT NULL,
    code_version VARCHAR NOT NULL,
    data_snapshot VARCHAR NOT NULL,
    reference_file VARCHAR NOT NULL,
    start DATE NOT NULL,
    "end" DATE NOT NULL,
    periods INTEGER NOT NULL,
    correlation DOUBLE,
    tracking_error DOUBLE,
    drift DOUBLE,
    worst_date DATE,
    worst_error DOUBLE,
    over_threshold INTEGER,
    ours_return DOUBLE,
    published_return DOUBLE,
    ours_vol DOUBLE,
    published_vol DOUBLE,
    ours_max_drawdown DOUBLE,
    published_max_drawdown DOUBLE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, index_name, "window", frequency)
);

CREATE TABLE IF NOT EXISTS results.replication_daily (
    run_id VARCHAR NOT NULL,
    index_name VARCHAR NOT NULL,
    date DATE NOT NULL,
    ours DOUBLE,
    published DOUBLE NOT NULL,
    error DOUBLE,
    PRIMARY KEY (run_id, index_name, date)
);
