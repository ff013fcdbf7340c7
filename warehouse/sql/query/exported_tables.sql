-- The tables published as Parquet beside the warehouse for lock-free readers: core
-- market data, signals and results (not the raw layer or run records).
SELECT schema_name, table_name
FROM duckdb_tables()
WHERE schema_name IN ('core', 'signals', 'results')
ORDER BY schema_name, table_name;
