-- Keep the stored values a batch replaces. Input: relation `incoming` (series,
-- natural_key, column_name, stored_value, new_value, stored_source, location, line,
-- ingest_run_id, revised_at). Append-only: one run replaces a value once.
INSERT INTO core.revisions BY NAME SELECT * FROM incoming;
