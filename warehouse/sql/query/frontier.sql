-- The R-squared frontier of one sweep (alvh sweep --frontier), band by band.
SELECT * FROM results.frontier WHERE sweep_id = $sweep_id ORDER BY band_low, band_high, rule;
