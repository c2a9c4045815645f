-- "Member" has the three v2.0 columns with their types, nullability and
-- constant defaults (a constant default is what let them be added without
-- rewriting the table).
WITH expected (name, type, not_null, default_expr) AS (
    VALUES ('totalPoints',   'bigint',                      true,  '0'),
           ('currentStreak', 'bigint',                      true,  '0'),
           ('lastActiveAt',  'timestamp(3) with time zone', false, NULL)
), found AS (
    SELECT e.*,
           a.attnum IS NOT NULL AS present,
           format_type(a.atttypid, a.atttypmod) AS actual_type,
           a.attnotnull AS actual_not_null,
           pg_get_expr(d.adbin, d.adrelid) AS actual_default
      FROM expected AS e
      LEFT JOIN (pg_attribute AS a
                 JOIN pg_class AS c ON c.oid = a.attrelid AND c.relname = 'Member'
                 JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema())
             ON a.attname = e.name AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
), judged AS (
    SELECT *,
           present AND actual_type = type AND actual_not_null = not_null
                   AND actual_default IS NOT DISTINCT FROM default_expr AS good
      FROM found
)
SELECT 'member_columns' AS "check",
       bool_and(good) AS ok,
       format('%s of %s columns as expected: ', count(*) FILTER (WHERE good), count(*))
       || string_agg(
              CASE
                  WHEN NOT present THEN format('"%s" missing', name)
                  ELSE format('"%s" %s%s%s', name, actual_type,
                              CASE WHEN actual_not_null THEN ' NOT NULL' ELSE ' NULL' END,
                              coalesce(' DEFAULT ' || actual_default, ''))
                       || CASE WHEN good THEN ''
                               ELSE format(' (expected %s%s%s)', type,
                                           CASE WHEN not_null THEN ' NOT NULL' ELSE ' NULL' END,
                                           coalesce(' DEFAULT ' || default_expr, ''))
                          END
              END, '; ') AS detail
  FROM judged;
