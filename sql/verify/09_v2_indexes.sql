-- The sixteen indexes built CONCURRENTLY by the set are present, valid and
-- ready, on the right table and with the definition the set wrote: CREATE
-- INDEX ... IF NOT EXISTS keeps any index that already has the name, so the
-- definition is compared too.
WITH expected (name, table_name, is_unique, method) AS (
    VALUES ('BenchmarkSubmission_memberId_createdAt_idx',    'BenchmarkSubmission', false, 'btree ("memberId", "createdAt")'),
           ('BenchmarkSubmission_category_score_idx',        'BenchmarkSubmission', false, 'btree (category, score DESC)'),
           ('BenchmarkSubmission_data_idx',                  'BenchmarkSubmission', false, 'gin (data jsonb_path_ops)'),
           ('Resource_slug_key',                             'Resource',            true,  'btree (slug)'),
           ('Resource_memberId_idx',                         'Resource',            false, 'btree ("memberId")'),
           ('Resource_category_type_idx',                    'Resource',            false, 'btree (category, type)'),
           ('ResourceDownload_resourceId_downloadedAt_idx',  'ResourceDownload',    false, 'btree ("resourceId", "downloadedAt")'),
           ('ResourceDownload_memberId_downloadedAt_idx',    'ResourceDownload',    false, 'btree ("memberId", "downloadedAt")'),
           ('PointTransaction_memberId_createdAt_idx',       'PointTransaction',    false, 'btree ("memberId", "createdAt")'),
           ('PointTransaction_createdAt_idx',                'PointTransaction',    false, 'btree ("createdAt")'),
           ('DiscordActivity_memberId_occurredAt_idx',       'DiscordActivity',     false, 'btree ("memberId", "occurredAt")'),
           ('DiscordActivity_discordUserId_occurredAt_idx',  'DiscordActivity',     false, 'btree ("discordUserId", "occurredAt")'),
           ('DiscordActivity_type_occurredAt_idx',           'DiscordActivity',     false, 'btree (type, "occurredAt")'),
           ('Member_totalPoints_idx',                        'Member',              false, 'btree ("totalPoints" DESC)'),
           ('Member_lastActiveAt_idx',                       'Member',              false, 'btree ("lastActiveAt")'),
           ('PointTransaction_action_createdAt_idx',         'PointTransaction',    false, 'btree (action, "createdAt")')
), found AS (
    SELECT e.*,
           i.indexrelid IS NOT NULL AS present,
           t.relname AS actual_table,
           i.indisunique AS actual_unique,
           substring(pg_get_indexdef(i.indexrelid) FROM ' USING (.*)$') AS actual_method,
           coalesce(i.indisvalid AND i.indisready, false) AS valid
      FROM expected AS e
      LEFT JOIN (pg_class AS x
                 JOIN pg_namespace AS n ON n.oid = x.relnamespace AND n.nspname = current_schema()
                 JOIN pg_index AS i ON i.indexrelid = x.oid
                 JOIN pg_class AS t ON t.oid = i.indrelid)
             ON x.relname = e.name
), judged AS (
    SELECT *,
           present AND actual_table = table_name AND actual_unique = is_unique AND actual_method = method AS as_written
      FROM found
)
SELECT 'v2_indexes' AS "check",
       bool_and(as_written AND valid) AS ok,
       format('%s of %s indexes present, %s valid, %s as written',
              count(*) FILTER (WHERE present), count(*), count(*) FILTER (WHERE valid), count(*) FILTER (WHERE as_written))
       || coalesce('; missing: ' || string_agg(name, ', ' ORDER BY name) FILTER (WHERE NOT present), '')
       || coalesce('; INVALID: ' || string_agg(name, ', ' ORDER BY name) FILTER (WHERE present AND NOT valid), '')
       || coalesce('; different from the set: '
                   || string_agg(format('%s is %s%s on %s, expected %s%s on %s', name,
                                        CASE WHEN actual_unique THEN 'UNIQUE ' ELSE '' END, actual_method, actual_table,
                                        CASE WHEN is_unique THEN 'UNIQUE ' ELSE '' END, method, table_name), '; ' ORDER BY name)
                     FILTER (WHERE present AND NOT as_written), '') AS detail
  FROM judged;
