-- The five v2.0 tables exist in this schema, each with its primary key.
WITH expected (name) AS (
    VALUES ('BenchmarkSubmission'), ('Resource'), ('ResourceDownload'), ('PointTransaction'), ('DiscordActivity')
), found AS (
    SELECT e.name,
           c.oid IS NOT NULL AS present,
           EXISTS (SELECT FROM pg_constraint AS k
                    WHERE k.conrelid = c.oid AND k.contype = 'p' AND k.conname = e.name || '_pkey') AS has_pkey
      FROM expected AS e
      LEFT JOIN (pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema())
             ON c.relname = e.name AND c.relkind IN ('r', 'p')
)
SELECT 'v2_tables' AS "check",
       bool_and(present AND has_pkey) AS ok,
       format('%s of %s tables present in schema %s: %s', count(*) FILTER (WHERE present), count(*), current_schema(),
              coalesce(string_agg(name, ', ' ORDER BY name) FILTER (WHERE present), 'none'))
       || coalesce('; missing: ' || string_agg(name, ', ' ORDER BY name) FILTER (WHERE NOT present), '')
       || coalesce('; without primary key <table>_pkey: '
                   || string_agg(name, ', ' ORDER BY name) FILTER (WHERE present AND NOT has_pkey), '') AS detail
  FROM found;
