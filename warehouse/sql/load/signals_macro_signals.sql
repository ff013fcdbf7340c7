-- Upsert recomputed signals into signals.macro_signals on (reference_month).
-- Input: relation `incoming` with the table's columns in order plus signal_run_id.
-- A row is updated only when a value differs; returns one action per changed row.
MERGE INTO signals.macro_signals AS t
USING incoming AS s
ON t.reference_month = s.reference_month
WHEN MATCHED AND (t.public_date, t.cpi_yoy, t.cpi_public_date, t.ppi_yoy, t.ppi_public_date, t.cpi_ppi_spread, t.cpi_ppi_z, t.cpi_ppi_divergence)
    IS DISTINCT FROM (s.public_date, s.cpi_yoy, s.cpi_public_date, s.ppi_yoy, s.ppi_public_date, s.cpi_ppi_spread, s.cpi_ppi_z, s.cpi_ppi_divergence) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
