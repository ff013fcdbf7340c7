-- The daily signal ledger: what each saved book said, as of each session, kept forever
-- (written by flows/ledger.py; append-only: no statement updates or deletes a row).
--
-- results.signal_ledger  grain: one version of one book's day.  PK (config_hash, as_of, version)
--   as_of: the session the book stands at (its close); next_session: the session its
--   actions are for. actions: [{sleeve, action, instrument, quantity, reason}], the
--   engine's trades on the next session at unchanged prices; positions: [{sleeve,
--   instrument, quantity, detail}] at the as-of close. bounded_by: the input whose last
--   date bounds the as-of session; inputs: {input: last date}; stale: the required
--   inputs that end before the run's session, as "name last-date" text (NULL: none).
--   digest: hash of the inputs through as_of and of the row's content; a re-run with the
--   same digest adds nothing, a different one (a late revision) adds version + 1.
CREATE TABLE IF NOT EXISTS results.signal_ledger (
    config_hash VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    version INTEGER NOT NULL,
    next_session DATE,
    actions JSON NOT NULL,
    positions JSON NOT NULL,
    r2_now DOUBLE,
    band_low DOUBLE NOT NULL,
    band_high DOUBLE NOT NULL,
    hedge_ratio DOUBLE NOT NULL,
    equity DOUBLE NOT NULL,
    ruin_date DATE,
    break_even_low DOUBLE,
    break_even_high DOUBLE,
    bounded_by VARCHAR NOT NULL,
    inputs JSON NOT NULL,
    stale VARCHAR,
    params JSON NOT NULL,
    code_version VARCHAR NOT NULL,
    data_snapshot VARCHAR NOT NULL,
    digest VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (config_hash, as_of, version)
);
