-- No constraint anywhere in the schema is left NOT VALID: a NOT VALID
-- constraint checks new rows only, so old rows may still break it.
WITH constraints AS (
    SELECT k.conname, c.relname, k.contype, k.convalidated
      FROM pg_constraint AS k
      JOIN pg_class AS c ON c.oid = k.conrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema()
       AND k.contype IN ('f', 'c')
)
SELECT 'no_not_valid_constraints' AS "check",
       count(*) FILTER (WHERE NOT convalidated) = 0 AS ok,
       format('%s of %s foreign-key and check constraints in schema %s are NOT VALID',
              count(*) FILTER (WHERE NOT convalidated), count(*), current_schema())
       || coalesce(': ' || string_agg(format('%s on %s', conname, relname), ', ' ORDER BY relname, conname)
                           FILTER (WHERE NOT convalidated), '') AS detail
  FROM constraints;
