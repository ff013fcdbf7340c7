-- The highest applied schema version (0 on a new file).
SELECT coalesce(max(version), 0) AS version FROM schema_version;
