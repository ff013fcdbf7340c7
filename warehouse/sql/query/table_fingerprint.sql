-- What a published table holds, to tell whether its Parquet export is still current:
-- its columns and their types, its row count and the sum of its rows' hashes (free of
-- row order).
SELECT
    (
        SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY column_index)
        FROM duckdb_columns()
        WHERE schema_name = $schema AND table_name = $table
    ) AS columns,
    count(*) AS n,
    CAST(sum(hash(t)) AS VARCHAR) AS digest
FROM query_table($name) AS t;
