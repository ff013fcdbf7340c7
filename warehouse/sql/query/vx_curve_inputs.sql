-- What the VX curve tables are derived from: a fingerprint of core.vx_futures' content
-- (its values, not its provenance), and the fingerprint each curve table was last built
-- from (ingest_fingerprints; null if never built). A curve is current when they match.
WITH futures AS (
    SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(
        trade_date, contract, contract_type, expiry, open, high, low, close, settle,
        change, volume, efp, open_interest, suspect_settle)), 0)::VARCHAR AS fingerprint
    FROM core.vx_futures
)
SELECT futures.fingerprint AS futures,
       (SELECT fingerprint FROM ingest_fingerprints WHERE series = 'vx_term_structure') AS term_structure,
       (SELECT fingerprint FROM ingest_fingerprints WHERE series = 'vx_constant_maturity') AS constant_maturity
FROM futures;
