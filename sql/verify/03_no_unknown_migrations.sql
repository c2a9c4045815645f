-- No ledger row without its folder on disk: a file applied here but missing
-- from the set means the database and the files disagree (a deleted or renamed
-- migration, or a database migrated from another branch).
SELECT 'no_unknown_migrations' AS "check",
       count(*) = 0 AS ok,
       CASE
           WHEN count(*) = 0 THEN
               format('all %s ledger rows have their file on disk',
                      (SELECT count(*) FROM pg_temp.migration_ledger))
           ELSE format('%s ledger row(s) with no file on disk: %s', count(*),
                       string_agg(format('%s (%s at %s)', l.folder, l.status, l.applied_at), '; '
                                  ORDER BY l.folder COLLATE "C"))
       END AS detail
  FROM pg_temp.migration_ledger AS l
 WHERE NOT EXISTS (SELECT FROM pg_temp.migration_files AS f WHERE f.folder = l.folder);
