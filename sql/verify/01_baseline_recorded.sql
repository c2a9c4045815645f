-- The v1.0 baseline (0_init, version 0) is in the ledger: applied on an empty
-- database, baselined on one that already held the v1.0 schema, or adopted from
-- Prisma's history on a database Prisma migrated.
SELECT 'baseline_recorded' AS "check",
       coalesce(bool_or(l.status IN ('applied', 'baselined', 'adopted')), false) AS ok,
       CASE
           WHEN count(l.*) = 0 THEN
               '0_init (version 0) is not in the ledger; apply the set, with --baseline 0 on a database that already holds the v1.0 schema'
           ELSE string_agg(format('%s %s at %s by %s, checksum %s',
                                  l.folder, l.status, l.applied_at, l.applied_by, left(l.checksum, 12)),
                           '; ')
       END AS detail
  FROM pg_temp.migration_ledger AS l
 WHERE l.version = '0';
