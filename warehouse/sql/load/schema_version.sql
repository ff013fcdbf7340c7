-- Record that a schema file was applied.
INSERT OR REPLACE INTO schema_version (version, name, applied_at)
VALUES ($version, $name, now()::TIMESTAMP);
