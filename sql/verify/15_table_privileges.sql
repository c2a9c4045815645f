-- Every role's privileges on every table and view of the schemas the stack manages are exactly
-- what the stack intends (its privilege intent, given to this session as pg_temp.privilege_scope
-- and pg_temp.privilege_intent): the intended owner owns each one; each role the intent names
-- holds exactly its privileges, counted as PostgreSQL decides them (has_table_privilege, so a
-- membership such as pg_write_all_data or a superuser counts too); PUBLIC and every other role
-- hold no grant at all (aclexplode). Each difference is named. Without an intent (npm start, a
-- migrate verify without --privileges) there is nothing to compare with, and the detail says so.
WITH privs AS MATERIALIZED (
    -- MAINTAIN exists from PostgreSQL 17; asking an older server about it would be an error.
    SELECT u.p, u.i
      FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']
                  || CASE WHEN current_setting('server_version_num')::int >= 170000 THEN ARRAY['MAINTAIN'] ELSE ARRAY[]::text[] END)
           WITH ORDINALITY AS u (p, i)
), tables AS MATERIALIZED (
    SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS name, n.nspname AS schema_name, c.relname AS table_name,
           c.relowner, s.owner AS intended_owner, coalesce(c.relacl, acldefault('r', c.relowner)) AS acl
      FROM pg_class AS c
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
      JOIN pg_temp.privilege_scope AS s ON s.schema_name = n.nspname
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
), roles AS MATERIALIZED (
    SELECT DISTINCT i.role, r.oid
      FROM pg_temp.privilege_intent AS i
      LEFT JOIN pg_roles AS r ON r.rolname = i.role
), held AS (
    SELECT t.oid AS table_oid, t.name, ro.role,
           -- this table's own rule, else the schema's, else nothing
           coalesce((SELECT i.privileges FROM pg_temp.privilege_intent AS i
                      WHERE i.role = ro.role AND i.schema_name = t.schema_name AND i.table_name = t.table_name),
                    (SELECT i.privileges FROM pg_temp.privilege_intent AS i
                      WHERE i.role = ro.role AND i.schema_name = t.schema_name AND i.table_name IS NULL),
                    ARRAY[]::text[]) AS want,
           ARRAY(SELECT p FROM privs WHERE has_table_privilege(ro.oid, t.oid, p) ORDER BY i) AS have
      FROM tables AS t
     CROSS JOIN roles AS ro
     WHERE ro.oid IS NOT NULL
), differences AS (
    SELECT 0 AS kind, '' AS object, format('role %s does not exist', role) AS problem
      FROM roles WHERE oid IS NULL
    UNION ALL
    SELECT 1, name, format('%s is owned by %s, not %s', name, pg_get_userbyid(relowner), intended_owner)
      FROM tables WHERE pg_get_userbyid(relowner) IS DISTINCT FROM intended_owner
    UNION ALL
    SELECT 2, name, format('%s holds %s on %s, beyond the intended %s', role,
                           array_to_string(ARRAY(SELECT x FROM unnest(have) AS x WHERE x <> ALL (want)), ', '), name,
                           coalesce(nullif(array_to_string(want, ', '), ''), 'nothing'))
      FROM held WHERE NOT have <@ want
    UNION ALL
    SELECT 3, name, format('%s lacks %s on %s', role, array_to_string(ARRAY(SELECT x FROM unnest(want) AS x WHERE x <> ALL (have)), ', '), name)
      FROM held WHERE NOT want <@ have
    UNION ALL
    SELECT 4, t.name, format('%s is granted %s on %s, and the intent grants it nothing',
                             CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END,
                             string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type), t.name)
      FROM tables AS t
     CROSS JOIN LATERAL aclexplode(t.acl) AS a
     WHERE a.grantee <> t.relowner AND NOT EXISTS (SELECT FROM roles AS ro WHERE ro.oid = a.grantee)
     GROUP BY t.name, a.grantee
    UNION ALL
    SELECT 5, t.name, format('%s may grant %s on %s to others (WITH GRANT OPTION)', pg_get_userbyid(a.grantee),
                             string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type), t.name)
      FROM tables AS t
     CROSS JOIN LATERAL aclexplode(t.acl) AS a
      JOIN roles AS ro ON ro.oid = a.grantee
     WHERE a.is_grantable
     GROUP BY t.name, a.grantee
), groups AS (
    SELECT role, have, count(*) AS n, string_agg(name, ', ' ORDER BY name) AS names
      FROM held GROUP BY role, have
), evidence AS (
    -- what each role holds, as the database says: the few tables of a set by name, a large set by count
    SELECT string_agg(role || ': ' || text, '; ' ORDER BY role) AS text
      FROM (SELECT role, string_agg(format('%s on %s', coalesce(nullif(array_to_string(have, ', '), ''), 'nothing'),
                                           CASE WHEN n <= 3 THEN names ELSE n || ' tables' END), ', ' ORDER BY n, names) AS text
              FROM groups GROUP BY role) AS per_role
)
SELECT 'table_privileges' AS "check",
       NOT EXISTS (SELECT FROM differences) AS ok,
       CASE
           WHEN NOT EXISTS (SELECT FROM pg_temp.privilege_scope) THEN
               'no privilege intent was given (the stacks give theirs; migrate verify takes --privileges FILE): nothing compared'
           WHEN EXISTS (SELECT FROM differences) THEN
               format('%s difference(s) from the intent: %s', (SELECT count(*) FROM differences),
                      (SELECT string_agg(problem, '; ' ORDER BY kind, object, problem) FROM differences))
               || coalesce('. Held: ' || (SELECT text FROM evidence), '')
           ELSE format('%s tables and views in %s, each owned by %s; PUBLIC and unnamed roles hold nothing; %s',
                       (SELECT count(*) FROM tables),
                       (SELECT string_agg(DISTINCT schema_name, ', ') FROM pg_temp.privilege_scope),
                       (SELECT string_agg(DISTINCT owner, ', ') FROM pg_temp.privilege_scope),
                       coalesce((SELECT text FROM evidence), 'no table yet'))
       END AS detail;
