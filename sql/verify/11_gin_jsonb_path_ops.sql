-- "BenchmarkSubmission_data_idx" is a GIN index on "BenchmarkSubmission"."data"
-- with the jsonb_path_ops operator class (the one built for @> containment).
WITH idx AS (
    SELECT x.oid,
           t.relname AS table_name,
           am.amname AS method,
           (SELECT a.attname FROM pg_attribute AS a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0]) AS column_name,
           oc.opcname AS opclass,
           i.indnatts AS columns,
           i.indisvalid AND i.indisready AS valid
      FROM pg_class AS x
      JOIN pg_namespace AS n ON n.oid = x.relnamespace AND n.nspname = current_schema()
      JOIN pg_index AS i ON i.indexrelid = x.oid
      JOIN pg_class AS t ON t.oid = i.indrelid
      JOIN pg_am AS am ON am.oid = x.relam
      JOIN pg_opclass AS oc ON oc.oid = i.indclass[0]
     WHERE x.relname = 'BenchmarkSubmission_data_idx'
)
SELECT 'gin_jsonb_path_ops' AS "check",
       coalesce(bool_and(table_name = 'BenchmarkSubmission' AND method = 'gin' AND column_name = 'data'
                         AND opclass = 'jsonb_path_ops' AND columns = 1 AND valid), false) AS ok,
       coalesce(string_agg(format('BenchmarkSubmission_data_idx on %s USING %s (%s %s)%s, %s', table_name, method,
                                  column_name, opclass, CASE WHEN columns > 1 THEN format(' and %s more column(s)', columns - 1) ELSE '' END,
                                  CASE WHEN valid THEN 'valid' ELSE 'INVALID' END), '; '),
                'BenchmarkSubmission_data_idx is missing')
       || CASE WHEN bool_and(opclass <> 'jsonb_path_ops') THEN '; expected operator class jsonb_path_ops' ELSE '' END AS detail
  FROM idx;
