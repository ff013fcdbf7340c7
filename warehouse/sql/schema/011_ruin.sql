-- Ruin as a fact: `ruined` is a BOOLEAN (equity reached zero) and `ruin_date` the session
-- it did (NULL for a book that lived), in every result table that carries metrics.
-- results.backtest_metrics  grain: one run.                          PK (run_id)
-- results.sweep_results     grain: one configuration of one sweep.   PK (sweep_id, config_hash)
ALTER TABLE results.backtest_metrics ALTER ruined TYPE BOOLEAN USING ruined > 0;
ALTER TABLE results.backtest_metrics ADD COLUMN IF NOT EXISTS ruin_date DATE;
ALTER TABLE results.sweep_results ALTER ruined TYPE BOOLEAN USING ruined > 0;
ALTER TABLE results.sweep_results ADD COLUMN IF NOT EXISTS ruin_date DATE;
