-- The five foreign keys from the v2.0 tables to "Member"("id") exist and are
-- validated: added NOT VALID, then VALIDATE CONSTRAINT, so convalidated is true.
WITH expected (table_name, name) AS (
    VALUES ('BenchmarkSubmission', 'BenchmarkSubmission_memberId_fkey'),
           ('Resource',            'Resource_memberId_fkey'),
           ('ResourceDownload',    'ResourceDownload_memberId_fkey'),
           ('PointTransaction',    'PointTransaction_memberId_fkey'),
           ('DiscordActivity',     'DiscordActivity_memberId_fkey')
), found AS (
    SELECT e.table_name,
           e.name,
           k.oid IS NOT NULL AS present,
           coalesce(k.convalidated, false) AS validated,
           pg_get_constraintdef(k.oid) AS definition
      FROM expected AS e
      LEFT JOIN (pg_constraint AS k
                 JOIN pg_class AS c ON c.oid = k.conrelid
                 JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema()
                 JOIN pg_class AS r ON r.oid = k.confrelid AND r.relname = 'Member' AND r.relnamespace = n.oid)
             ON k.conname = e.name AND c.relname = e.table_name AND k.contype = 'f'
)
SELECT 'member_foreign_keys' AS "check",
       bool_and(present AND validated) AS ok,
       format('%s of %s foreign keys to "Member" present, %s validated',
              count(*) FILTER (WHERE present), count(*), count(*) FILTER (WHERE validated))
       || coalesce('; missing: ' || string_agg(name, ', ' ORDER BY name) FILTER (WHERE NOT present), '')
       || coalesce('; NOT VALID: ' || string_agg(name, ', ' ORDER BY name) FILTER (WHERE present AND NOT validated), '')
       || coalesce('; validated: ' || string_agg(name, ', ' ORDER BY name) FILTER (WHERE validated), '') AS detail
  FROM found;
