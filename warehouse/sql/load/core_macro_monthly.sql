-- Load a batch of macro values into core.macro_monthly, keeping revisions as vintages.
-- Input: relation `incoming` (series_id, reference_month, value, public_date,
-- public_date_rule, source, ingest_run_id); parameter $as_of: the ingest's as-of date.
-- * a month not stored yet: inserted with vintage_date = public_date;
-- * same value as the latest vintage: that vintage is kept (its public date and rule
--   are refreshed if a better release calendar has arrived);
-- * a different value (a revision): a new vintage dated max(public_date, $as_of).
MERGE INTO core.macro_monthly AS t
USING (
    SELECT s.series_id, s.reference_month,
        CASE WHEN l.series_id IS NULL THEN s.public_date
             WHEN l.value = s.value THEN l.vintage_date
             ELSE greatest(s.public_date, CAST($as_of AS DATE)) END AS vintage_date,
        s.value, s.public_date, s.public_date_rule, s.source, s.ingest_run_id
    FROM incoming AS s
    LEFT JOIN core.macro_latest AS l USING (series_id, reference_month)
) AS s
ON t.series_id = s.series_id AND t.reference_month = s.reference_month
    AND t.vintage_date = s.vintage_date
WHEN MATCHED AND (t.value, t.public_date, t.public_date_rule)
    IS DISTINCT FROM (s.value, s.public_date, s.public_date_rule) THEN UPDATE
WHEN NOT MATCHED THEN INSERT
RETURNING merge_action;
