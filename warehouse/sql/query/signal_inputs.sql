-- What the signal tables are derived from: the content (values, not provenance) of each
-- core table signals_daily reads (`core`) and of the one macro_signals reads (`macro`),
-- and the fingerprint each signal table was last built from (ingest_fingerprints; null
-- if never built). The flow hashes them with its code version; a signal table is
-- current when the two match.
WITH parts(name, part) AS (
    SELECT 'spx_daily', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.spx_daily
    UNION ALL SELECT 'vix_daily', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.vix_daily
    UNION ALL SELECT 'vix3m_daily', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.vix3m_daily
    UNION ALL SELECT 'vvix_daily', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.vvix_daily
    UNION ALL SELECT 'nyse_breadth', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.nyse_breadth
    UNION ALL SELECT 'sp500_breadth', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.sp500_breadth
    UNION ALL SELECT 'vx_futures', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.vx_futures
    UNION ALL SELECT 'vx_term_structure', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.vx_term_structure
    UNION ALL SELECT 'vx_constant_maturity', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.vx_constant_maturity
    UNION ALL SELECT 'macro_monthly', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.macro_monthly
    UNION ALL SELECT 'fomc_meetings', count(*)::VARCHAR || ':' || coalesce(sum(hash(*COLUMNS(* EXCLUDE (source, ingest_run_id)))), 0)::VARCHAR FROM core.fomc_meetings
)
SELECT string_agg(name || '=' || part, ' ' ORDER BY name) AS core,
       any_value(part) FILTER (WHERE name = 'macro_monthly') AS macro,
       (SELECT fingerprint FROM ingest_fingerprints WHERE series = 'signals_daily') AS signals_daily,
       (SELECT fingerprint FROM ingest_fingerprints WHERE series = 'macro_signals') AS macro_signals,
       (SELECT count(*) FROM signals.signals_daily) + (SELECT count(*) FROM signals.macro_signals) AS stored
FROM parts;
