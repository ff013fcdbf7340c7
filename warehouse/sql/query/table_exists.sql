-- Whether the warehouse holds $schema.$table (a reader of an older file, not yet migrated).
SELECT count(*) > 0 AS present FROM duckdb_tables() WHERE schema_name = $schema AND table_name = $table;
