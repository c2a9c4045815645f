-- "Member"."totalPoints" is the sum of the member's "PointTransaction"."points"
-- (positive and negative), kept in step by trg_update_member_points in the
-- same transaction as the ledger insert. The ledger is append-only: a
-- correction is a new row with negative points, never an UPDATE or DELETE.

-- CreateFunction
-- One statement-level trigger per INSERT statement, reading the statement's new
-- rows from a transition table: a bulk insert (INSERT ... SELECT, COPY, many
-- VALUES) costs one UPDATE per member, not one per row. The members are locked
-- in id order first, so two concurrent statements that credit the same members
-- queue on each other instead of deadlocking. FOR NO KEY UPDATE does not
-- conflict with the FOR KEY SHARE locks that foreign-key checks take. The
-- search_path is pinned to the migration's, so "Member" means this schema's
-- table whatever the inserting session's search_path is.
CREATE FUNCTION "update_member_points"() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM 1
       FROM "Member" AS m
      WHERE m."id" IN (SELECT n."memberId" FROM new_rows AS n)
      ORDER BY m."id"
        FOR NO KEY UPDATE;

    UPDATE "Member" AS m
       SET "totalPoints" = m."totalPoints" + d."delta"
      FROM (SELECT n."memberId", sum(n."points") AS "delta"
              FROM new_rows AS n
             GROUP BY n."memberId") AS d
     WHERE m."id" = d."memberId"
       AND d."delta" <> 0;

    RETURN NULL;
END;
$$;

-- CreateTrigger
CREATE TRIGGER "trg_update_member_points"
    AFTER INSERT ON "PointTransaction"
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION "update_member_points"();

-- CreateFunction
CREATE FUNCTION "reject_point_transaction_change"() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '"PointTransaction" is an append-only ledger: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a correction as a new row with negative points.';
END;
$$;

-- CreateTrigger
-- Statement-level, so any UPDATE, DELETE or TRUNCATE is refused, even one that
-- would touch no row.
CREATE TRIGGER "trg_point_transaction_immutable"
    BEFORE UPDATE OR DELETE OR TRUNCATE ON "PointTransaction"
    FOR EACH STATEMENT
    EXECUTE FUNCTION "reject_point_transaction_change"();

-- Reconcile
-- Rows inserted into the ledger before the trigger existed (the table has been
-- there since 20260123015816) are counted now. CREATE TRIGGER above took a
-- SHARE ROW EXCLUSIVE lock on "PointTransaction" that lasts until COMMIT, so no
-- insert can slip between this count and the trigger taking over. Because that
-- lock holds every ledger insert back, this transaction must stay short: it
-- reads the ledger's members only, never all of "Member" (a full scan held
-- writes up for seconds at 1M members in bench/), then the members with a
-- non-zero total and no ledger row, found through the "totalPoints" index.
-- Only wrong totals are written; on a fresh v2.0 ledger, none.
UPDATE "Member" AS m
   SET "totalPoints" = t."total"
  FROM (SELECT p."memberId", sum(p."points") AS "total"
          FROM "PointTransaction" AS p
         GROUP BY p."memberId") AS t
 WHERE m."id" = t."memberId"
   AND m."totalPoints" <> t."total";

UPDATE "Member" AS m
   SET "totalPoints" = 0
 WHERE (m."totalPoints" > 0 OR m."totalPoints" < 0)
   AND NOT EXISTS (SELECT 1 FROM "PointTransaction" AS p WHERE p."memberId" = m."id");
