-- The CPI and PPI release dates (release, reference_month, release_date, note) that date
-- macro values.
SELECT release, reference_month, release_date, note FROM core.release_dates
ORDER BY release, reference_month;
