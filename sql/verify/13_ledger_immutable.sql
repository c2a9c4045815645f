-- trg_point_transaction_immutable refuses UPDATE, DELETE and TRUNCATE on
-- "PointTransaction", and is enabled: the ledger is append-only.
WITH trg AS (
    SELECT c.relname AS table_name,
           t.tgenabled,
           (t.tgtype & 2) <> 0 AS is_before,
           ARRAY_REMOVE(ARRAY[CASE WHEN (t.tgtype & 16) <> 0 THEN 'UPDATE' END,
                              CASE WHEN (t.tgtype & 8) <> 0 THEN 'DELETE' END,
                              CASE WHEN (t.tgtype & 32) <> 0 THEN 'TRUNCATE' END], NULL) AS events
      FROM pg_trigger AS t
      JOIN pg_class AS c ON c.oid = t.tgrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema()
     WHERE t.tgname = 'trg_point_transaction_immutable'
       AND NOT t.tgisinternal
)
SELECT 'ledger_immutable' AS "check",
       coalesce(bool_and(table_name = 'PointTransaction' AND is_before AND cardinality(events) = 3
                         AND tgenabled IN ('O', 'A')), false) AS ok,
       coalesce(string_agg(format('trg_point_transaction_immutable on %s: %s %s, %s', table_name,
                                  CASE WHEN is_before THEN 'BEFORE' ELSE 'AFTER' END,
                                  coalesce(nullif(array_to_string(events, ' OR '), ''), 'no UPDATE/DELETE/TRUNCATE event'),
                                  CASE tgenabled
                                      WHEN 'O' THEN 'enabled'
                                      WHEN 'A' THEN 'enabled (ALWAYS)'
                                      WHEN 'R' THEN 'enabled for replica sessions only'
                                      WHEN 'D' THEN 'DISABLED'
                                  END), '; '),
                'trg_point_transaction_immutable is missing: ledger rows can be updated or deleted') AS detail
  FROM trg;
