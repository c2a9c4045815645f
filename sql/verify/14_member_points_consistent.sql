-- Every member's "totalPoints" equals the sum of their ledger points: the
-- trigger's promise, checked on the data. One aggregate over the ledger, read
-- in one snapshot, so in-flight inserts never show as a mismatch. The query is
-- built with query_to_xml only so that this check still returns its row (and
-- says what is missing) when the table or column it reads does not exist.
WITH prerequisites AS (
    SELECT to_regclass(format('%I.%I', current_schema(), 'PointTransaction')) IS NOT NULL
           AND EXISTS (SELECT FROM pg_attribute AS a
                        WHERE a.attrelid = to_regclass(format('%I.%I', current_schema(), 'Member'))
                          AND a.attname = 'totalPoints' AND NOT a.attisdropped) AS ready
), result AS (
    SELECT CASE WHEN p.ready THEN query_to_xml($q$
               WITH ledger AS (
                   SELECT "memberId", sum("points") AS total, count(*) AS entries
                     FROM "PointTransaction" GROUP BY "memberId"
               ), compared AS (
                   SELECT m."id", m."totalPoints" AS stored, coalesce(l.total, 0) AS expected, coalesce(l.entries, 0) AS entries
                     FROM "Member" AS m LEFT JOIN ledger AS l ON l."memberId" = m."id"
               )
               SELECT count(*) AS members,
                      count(*) FILTER (WHERE entries > 0) AS with_entries,
                      coalesce(sum(entries), 0) AS entries,
                      count(*) FILTER (WHERE stored <> expected) AS mismatches,
                      (SELECT string_agg(format('%s has %s, ledger says %s', s."id", s.stored, s.expected), '; ')
                         FROM (SELECT * FROM compared WHERE stored <> expected ORDER BY "id" LIMIT 10) AS s) AS sample
                 FROM compared
               $q$, false, true, '') END AS x
      FROM prerequisites AS p
)
SELECT 'member_points_consistent' AS "check",
       coalesce((xpath('/row/mismatches/text()', x))[1]::text = '0', false) AS ok,
       CASE
           WHEN x IS NULL THEN
               '"PointTransaction" or "Member"."totalPoints" is missing, so the totals cannot be compared'
           ELSE format('%s members (%s with ledger entries, %s entries): %s totals differ from the ledger sum',
                       (xpath('/row/members/text()', x))[1], (xpath('/row/with_entries/text()', x))[1],
                       (xpath('/row/entries/text()', x))[1], (xpath('/row/mismatches/text()', x))[1])
                || coalesce(': ' || nullif((xpath('/row/sample/text()', x))[1]::text, ''), '')
       END AS detail
  FROM result;
