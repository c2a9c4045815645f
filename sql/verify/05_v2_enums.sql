-- The four v2.0 enums exist with their labels (in order). Labels added by a
-- later migration are reported but do not fail the check: adding a label is
-- how an enum grows without downtime.
WITH expected (name, labels) AS (
    VALUES ('BenchmarkCategory',   ARRAY['CPU', 'GPU', 'MEMORY', 'STORAGE', 'NETWORK']),
           ('ResourceCategory',    ARRAY['DEVELOPMENT', 'DESIGN', 'DATA', 'INFRASTRUCTURE', 'CAREER', 'COMMUNITY']),
           ('ResourceType',        ARRAY['ARTICLE', 'VIDEO', 'TEMPLATE', 'TOOL', 'DATASET', 'COURSE', 'LINK']),
           ('DiscordActivityType', ARRAY['MESSAGE', 'VOICE', 'REACTION', 'LEVEL_UP', 'XP_SYNC'])
), found AS (
    SELECT e.name,
           e.labels AS expected,
           t.oid IS NOT NULL AS present,
           coalesce((SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder)
                       FROM pg_enum AS l WHERE l.enumtypid = t.oid), '{}') AS actual
      FROM expected AS e
      LEFT JOIN (pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace AND n.nspname = current_schema())
             ON t.typname = e.name AND t.typtype = 'e'
), judged AS (
    SELECT name, present, actual,
           ARRAY(SELECT x FROM unnest(expected) WITH ORDINALITY AS u (x, i) WHERE x <> ALL (actual) ORDER BY i) AS missing,
           ARRAY(SELECT x FROM unnest(actual) WITH ORDINALITY AS u (x, i) WHERE x <> ALL (expected) ORDER BY i) AS extra,
           -- the expected labels, as they appear in the actual sort order
           ARRAY(SELECT x FROM unnest(actual) WITH ORDINALITY AS u (x, i) WHERE x = ANY (expected) ORDER BY i) = expected AS in_order
      FROM found
)
SELECT 'v2_enums' AS "check",
       bool_and(present AND cardinality(missing) = 0 AND in_order) AS ok,
       string_agg(
           CASE
               WHEN NOT present THEN format('%s: missing', name)
               ELSE format('%s(%s)', name, array_to_string(actual, ','))
                    || CASE WHEN cardinality(missing) > 0 THEN ' missing ' || array_to_string(missing, ',') ELSE '' END
                    || CASE WHEN cardinality(missing) = 0 AND NOT in_order THEN ' out of order' ELSE '' END
                    || CASE WHEN cardinality(extra) > 0 THEN ' (added later: ' || array_to_string(extra, ',') || ')' ELSE '' END
           END, '; ' ORDER BY name) AS detail
  FROM judged;
