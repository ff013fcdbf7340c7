-- The CPI release calendar (reference_month, release_date, note) for dating CPI values.
SELECT reference_month, release_date, note FROM core.cpi_release_dates ORDER BY reference_month;
