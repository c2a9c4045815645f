-- No INVALID index anywhere in the schema. An interrupted or failed CREATE
-- INDEX CONCURRENTLY leaves one behind: it is maintained on every write but
-- never used by a query, and IF NOT EXISTS would silently keep it.
WITH indexes AS (
    SELECT x.relname AS name, t.relname AS table_name, i.indisvalid AND i.indisready AS valid
      FROM pg_index AS i
      JOIN pg_class AS x ON x.oid = i.indexrelid
      JOIN pg_class AS t ON t.oid = i.indrelid
      JOIN pg_namespace AS n ON n.oid = x.relnamespace
     WHERE n.nspname = current_schema()
)
SELECT 'no_invalid_indexes' AS "check",
       count(*) FILTER (WHERE NOT valid) = 0 AS ok,
       format('%s of %s indexes in schema %s are INVALID',
              count(*) FILTER (WHERE NOT valid), count(*), current_schema())
       || coalesce(': ' || string_agg(format('%s on %s', name, table_name), ', ' ORDER BY table_name, name)
                           FILTER (WHERE NOT valid)
                        || ' (drop each with DROP INDEX CONCURRENTLY and apply again)', '') AS detail
  FROM indexes;
