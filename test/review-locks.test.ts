/**
 * The lock table, one statement kind at a time, against PostgreSQL 17's documented lock levels
 * (13.3.1 "Table-Level Locks" and the commands' own pages). Pure: the parser only, no server;
 * test/review-pg-locks.test.ts checks the same claims against pg_locks on a real server.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { covers, emptyKnowledge, statementLocks, type SetKnowledge } from "../migrator/table-locks.js";
import { loadParser } from "../migrator/statements.js";

beforeAll(() => loadParser());

/** "MODE table" per lock, as the review prints them, sorted. */
function claims(sql: string, k: SetKnowledge = emptyKnowledge(), newTables = new Set<string>()): string[] {
  return statementLocks(sql, k, newTables)
    .locks.map((l) => `${l.mode} ${l.table ? (l.table.schema ? `${l.table.schema}.` : "") + l.table.name : "?"}${l.newTable ? " (new)" : ""}`)
    .sort();
}

describe("table locks per statement kind", () => {
  test("CREATE INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE on the table", () => {
    expect(claims(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "Member" ("totalPoints" DESC)`)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
  });
  test("CREATE INDEX: SHARE", () => {
    expect(claims(`CREATE UNIQUE INDEX "i" ON app."Member" ("email")`)).toEqual(["SHARE app.Member"]);
  });
  test("ALTER TABLE … ADD COLUMN (several): ACCESS EXCLUSIVE once", () => {
    expect(claims(`ALTER TABLE "Member" ADD COLUMN "a" BIGINT NOT NULL DEFAULT 0, ADD COLUMN "b" TIMESTAMPTZ(3)`)).toEqual(["ACCESS EXCLUSIVE Member"]);
  });
  test("ADD COLUMN … REFERENCES: ACCESS EXCLUSIVE, and SHARE ROW EXCLUSIVE on the referenced table", () => {
    expect(claims(`ALTER TABLE "Event" ADD COLUMN "ownerId" TEXT REFERENCES "Member"("id")`)).toEqual(["ACCESS EXCLUSIVE Event", "SHARE ROW EXCLUSIVE Member"]);
  });
  test("ADD CONSTRAINT … FOREIGN KEY NOT VALID: SHARE ROW EXCLUSIVE on both tables", () => {
    expect(claims(`ALTER TABLE "Resource" ADD CONSTRAINT "fk" FOREIGN KEY ("memberId") REFERENCES "Member"("id") NOT VALID`)).toEqual([
      "SHARE ROW EXCLUSIVE Member",
      "SHARE ROW EXCLUSIVE Resource",
    ]);
  });
  test("ADD CHECK / PRIMARY KEY / UNIQUE: ACCESS EXCLUSIVE, even NOT VALID", () => {
    expect(claims(`ALTER TABLE "Member" ADD CONSTRAINT "c" CHECK ("totalPoints" >= 0) NOT VALID`)).toEqual(["ACCESS EXCLUSIVE Member"]);
    expect(claims(`ALTER TABLE "Member" ADD CONSTRAINT "u" UNIQUE ("email")`)).toEqual(["ACCESS EXCLUSIVE Member"]);
  });
  test("VALIDATE CONSTRAINT of a foreign key the set declared: SHARE UPDATE EXCLUSIVE, ROW SHARE on the referenced table", () => {
    const k = emptyKnowledge();
    claims(`ALTER TABLE "Resource" ADD CONSTRAINT "Resource_memberId_fkey" FOREIGN KEY ("memberId") REFERENCES "Member"("id") NOT VALID`, k);
    expect(claims(`ALTER TABLE "Resource" VALIDATE CONSTRAINT "Resource_memberId_fkey"`, k)).toEqual(["ROW SHARE Member", "SHARE UPDATE EXCLUSIVE Resource"]);
  });
  test("VALIDATE CONSTRAINT of a constraint not in the set: the referenced table is said to be unknown, not guessed", () => {
    const r = statementLocks(`ALTER TABLE "Resource" VALIDATE CONSTRAINT "elsewhere"`);
    expect(r.locks.map((l) => [l.mode, l.table?.name])).toEqual([
      ["SHARE UPDATE EXCLUSIVE", "Resource"],
      ["ROW SHARE", undefined],
    ]);
    expect(r.locks[1]!.note).toMatch(/not defined in this set/);
  });
  test("VALIDATE CONSTRAINT of a CHECK: no lock on another table", () => {
    const k = emptyKnowledge();
    claims(`ALTER TABLE "Member" ADD CONSTRAINT "c" CHECK ("totalPoints" >= 0) NOT VALID`, k);
    expect(claims(`ALTER TABLE "Member" VALIDATE CONSTRAINT "c"`, k)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
  });
  test("ALTER TABLE with subcommands of different levels: the strongest", () => {
    expect(claims(`ALTER TABLE "Member" ALTER COLUMN "bio" SET STATISTICS 100, ALTER COLUMN "bio" SET NOT NULL`)).toEqual(["ACCESS EXCLUSIVE Member"]);
    expect(claims(`ALTER TABLE "Member" SET (fillfactor = 80)`)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
    expect(claims(`ALTER TABLE "Member" DISABLE TRIGGER ALL`)).toEqual(["SHARE ROW EXCLUSIVE Member"]);
  });
  test("CREATE TRIGGER: SHARE ROW EXCLUSIVE", () => {
    expect(claims(`CREATE TRIGGER "t" AFTER INSERT ON "PointTransaction" REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION f()`)).toEqual([
      "SHARE ROW EXCLUSIVE PointTransaction",
    ]);
  });
  test("CREATE TABLE with REFERENCES: the new table (nobody sees it yet), SHARE ROW EXCLUSIVE on the referenced one", () => {
    const newTables = new Set<string>();
    expect(
      claims(
        `CREATE TABLE "D" ("id" TEXT PRIMARY KEY, "m" TEXT REFERENCES "Member"("id"), CONSTRAINT "x" FOREIGN KEY ("id") REFERENCES "Resource"("id"))`,
        emptyKnowledge(),
        newTables,
      ),
    ).toEqual(["ACCESS EXCLUSIVE D (new)", "SHARE ROW EXCLUSIVE Member", "SHARE ROW EXCLUSIVE Resource"]);
    expect(newTables.has(".D")).toBe(true);
  });
  test("UPDATE / INSERT / DELETE: ROW EXCLUSIVE on the target, ACCESS SHARE on what they read (not on CTE names)", () => {
    expect(
      claims(`UPDATE "Member" AS m SET "x" = t."s" FROM (SELECT "memberId", sum("points") s FROM "PointTransaction" GROUP BY 1) t WHERE m."id" = t."memberId"`),
    ).toEqual(["ACCESS SHARE PointTransaction", "ROW EXCLUSIVE Member"]);
    expect(claims(`WITH c AS (SELECT 1) INSERT INTO "Team" (id) SELECT * FROM c`)).toEqual(["ROW EXCLUSIVE Team"]);
    expect(claims(`DELETE FROM "Team" WHERE id IN (SELECT "teamId" FROM "Event")`)).toEqual(["ACCESS SHARE Event", "ROW EXCLUSIVE Team"]);
  });
  test("DROP TABLE: ACCESS EXCLUSIVE, and on the tables its known foreign keys reference", () => {
    const k = emptyKnowledge();
    claims(`CREATE TABLE "A" ("m" TEXT REFERENCES "Member"("id"))`, k);
    expect(claims(`DROP TABLE "A"`, k)).toEqual(["ACCESS EXCLUSIVE A", "ACCESS EXCLUSIVE Member"]);
    expect(statementLocks(`DROP TABLE "Other"`, k).unknown).toMatch(/foreign keys reference/);
  });
  test("DROP INDEX [CONCURRENTLY]: on the index's table when the set created it", () => {
    const k = emptyKnowledge();
    claims(`CREATE INDEX "i" ON "Member" ("email")`, k);
    expect(claims(`DROP INDEX "i"`, k)).toEqual(["ACCESS EXCLUSIVE Member"]);
    expect(claims(`DROP INDEX CONCURRENTLY "i"`, k)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
  });
  test("TRUNCATE, LOCK TABLE, RENAME, VACUUM, ANALYZE, CLUSTER, REFRESH", () => {
    expect(claims(`TRUNCATE "A", "B"`)).toEqual(["ACCESS EXCLUSIVE A", "ACCESS EXCLUSIVE B"]);
    expect(claims(`LOCK TABLE "A"`)).toEqual(["ACCESS EXCLUSIVE A"]);
    expect(claims(`LOCK TABLE "A" IN SHARE ROW EXCLUSIVE MODE`)).toEqual(["SHARE ROW EXCLUSIVE A"]);
    expect(claims(`ALTER TABLE "A" RENAME COLUMN "x" TO "y"`)).toEqual(["ACCESS EXCLUSIVE A"]);
    expect(claims(`VACUUM "A"`)).toEqual(["SHARE UPDATE EXCLUSIVE A"]);
    expect(claims(`VACUUM (FULL) "A"`)).toEqual(["ACCESS EXCLUSIVE A"]);
    expect(claims(`ANALYZE "A"`)).toEqual(["SHARE UPDATE EXCLUSIVE A"]);
    expect(claims(`CLUSTER "A" USING "i"`)).toEqual(["ACCESS EXCLUSIVE A"]);
    expect(claims(`REFRESH MATERIALIZED VIEW CONCURRENTLY "v"`)).toEqual(["EXCLUSIVE v"]);
  });
  test("COMMENT ON, CREATE STATISTICS: SHARE UPDATE EXCLUSIVE", () => {
    expect(claims(`COMMENT ON TABLE "Member" IS 'x'`)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
    expect(claims(`COMMENT ON COLUMN "Member"."bio" IS 'x'`)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
    expect(claims(`CREATE STATISTICS s ON "a", "b" FROM "Member"`)).toEqual(["SHARE UPDATE EXCLUSIVE Member"]);
  });
  test("CREATE TYPE / FUNCTION: no table lock; an unknown kind is said to be unknown", () => {
    expect(claims(`CREATE TYPE "E" AS ENUM ('A')`)).toEqual([]);
    expect(claims(`CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'`)).toEqual([]);
    expect(statementLocks(`CREATE PUBLICATION p FOR TABLE "Member"`).unknown).toMatch(/CreatePublicationStmt/);
  });
  test("covers follows the conflict table", () => {
    expect(covers("ACCESS EXCLUSIVE", "SHARE")).toBe(true);
    expect(covers("SHARE ROW EXCLUSIVE", "ACCESS SHARE")).toBe(true);
    expect(covers("ROW EXCLUSIVE", "ROW SHARE")).toBe(true);
    expect(covers("SHARE", "SHARE UPDATE EXCLUSIVE")).toBe(false);
    expect(covers("ROW SHARE", "ROW EXCLUSIVE")).toBe(false);
  });
});
