-- trg_update_member_points is on "PointTransaction", fires AFTER INSERT and is
-- enabled. Enabled means tgenabled 'O' (origin) or 'A' (always): 'D' is
-- disabled, and 'R' (ENABLE REPLICA TRIGGER) fires only in sessions with
-- session_replication_role = replica, so ordinary inserts would skip it.
WITH trg AS (
    SELECT t.tgname,
           c.relname AS table_name,
           t.tgenabled,
           (t.tgtype & 2) = 0 AND (t.tgtype & 64) = 0 AS is_after,
           (t.tgtype & 4) <> 0 AS on_insert,
           CASE WHEN (t.tgtype & 1) <> 0 THEN 'ROW' ELSE 'STATEMENT' END AS level,
           t.tgfoid::regproc::text AS function_name
      FROM pg_trigger AS t
      JOIN pg_class AS c ON c.oid = t.tgrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = current_schema()
     WHERE t.tgname = 'trg_update_member_points'
       AND NOT t.tgisinternal
)
SELECT 'points_trigger' AS "check",
       coalesce(bool_and(table_name = 'PointTransaction' AND is_after AND on_insert AND tgenabled IN ('O', 'A')), false) AS ok,
       coalesce(string_agg(format('trg_update_member_points on %s: %s%s FOR EACH %s, EXECUTE %s, %s',
                                  table_name,
                                  CASE WHEN is_after THEN 'AFTER' ELSE 'not AFTER' END,
                                  CASE WHEN on_insert THEN ' INSERT' ELSE ' (not on INSERT)' END,
                                  level, function_name,
                                  CASE tgenabled
                                      WHEN 'O' THEN 'enabled'
                                      WHEN 'A' THEN 'enabled (ALWAYS)'
                                      WHEN 'R' THEN 'enabled for replica sessions only, so ordinary inserts skip it'
                                      WHEN 'D' THEN 'DISABLED'
                                  END), '; '),
                'trg_update_member_points is missing: nothing keeps "Member"."totalPoints" in step with the ledger') AS detail
  FROM trg;
