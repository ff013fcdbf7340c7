-- The kinds of market a warehouse holds, from the sources of its successful loads:
-- 'synthetic' (the seeded generator) or 'real' (a folder or the publishers' downloads).
-- Generated tables (the exchange calendar, the derived VX curve) say nothing about it.
SELECT DISTINCT CASE WHEN source LIKE 'synthetic%' THEN 'synthetic' ELSE 'real' END AS market
FROM ingest_runs
WHERE status IN ('succeeded', 'unchanged')
  AND (source LIKE 'synthetic%' OR source LIKE 'dir:%' OR source = 'live')
ORDER BY market;
