-- Every migration file on disk is in the ledger, applied, baselined or adopted (from Prisma's history), with
-- the checksum of the file as it is on disk now (an edited applied file shows
-- here as a checksum mismatch).
WITH files AS (
    SELECT f.folder,
           l.status,
           CASE
               WHEN l.folder IS NULL THEN 'not in the ledger (pending)'
               WHEN l.status NOT IN ('applied', 'baselined', 'adopted') THEN
                   format('status %s since %s: interrupted, apply again', l.status, l.applied_at)
               WHEN l.checksum IS DISTINCT FROM f.checksum THEN
                   format('checksum on disk %s but %s was %s; the file was edited after it ran',
                          left(f.checksum, 12), left(l.checksum, 12), l.status)
           END AS problem
      FROM pg_temp.migration_files AS f
      LEFT JOIN pg_temp.migration_ledger AS l ON l.folder = f.folder
)
SELECT 'migrations_applied' AS "check",
       count(*) > 0 AND count(*) FILTER (WHERE problem IS NOT NULL) = 0 AS ok,
       format('%s of %s files on disk in the ledger with a matching checksum (%s applied, %s baselined%s)',
              count(*) FILTER (WHERE problem IS NULL),
              count(*),
              count(*) FILTER (WHERE problem IS NULL AND status = 'applied'),
              count(*) FILTER (WHERE problem IS NULL AND status = 'baselined'),
              CASE WHEN count(*) FILTER (WHERE problem IS NULL AND status = 'adopted') > 0
                   THEN format(', %s adopted', count(*) FILTER (WHERE problem IS NULL AND status = 'adopted'))
                   ELSE '' END)
       || coalesce('; ' || string_agg(format('%s: %s', folder, problem), '; ' ORDER BY folder COLLATE "C")
                           FILTER (WHERE problem IS NOT NULL),
                   '') AS detail
  FROM files;
