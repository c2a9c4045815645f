import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { fingerprintOf, takeCatalog } from "../migrator/catalog/index.js";
import { withClient } from "../migrator/connection.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { readMigrationSet } from "../migrator/files.js";
import { readTargetState } from "../migrator/rehearse.js";
import { formatRehearsal } from "../migrator/rehearse-format.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { ledgerRows, query } from "./support/migrator-db.js";
import { MIGRATIONS } from "./support/seed-set.js";
import { migrateAsPrisma } from "./support/prisma.js";
import { writeMigration } from "./support/sets.js";

// `migrate rehearse` on real servers: the seed set from nothing (on 17 and on 16), a broken file
// failing with its file:line, a reachable target whose replay matches (and then, with a column
// added by hand, drifts), lock observation against table-locks' prediction, the size of the
// tables a file scans or rewrites, and the target left exactly as it was, on a read-only session.

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

/** A copy of the seed set, so a test can add files to it. */
async function seedCopy(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rehearse-set-"));
  scratch.push(dir);
  await cp(MIGRATIONS, dir, { recursive: true });
  return dir;
}

type Json = any;
const byFolder = (report: Json, folder: string) => report.pending.find((f: Json) => f.folder === folder);
const V2 = "20260123015816_add_v2_tables";
const TRIGGER = "20260123015834_add_points_trigger";

describe("migrate rehearse with no database", () => {
  test("the seed set from nothing on PostgreSQL 17: 20 files apply; 0_init's 7 tables, v2's 5 tables, 16 indexes and the points triggers; locks as predicted", async () => {
    const run = await migrateJson(["rehearse", "--dir", MIGRATIONS]);
    expect(run.code, printed(run)).toBe(0);
    const r = run.json;
    expect(r).toMatchObject({
      major: 17,
      majorFrom: "default",
      largeTableRows: 100_000,
      applied: { files: 0, from: "none", head: null },
      summary: { applied: 20, failed: 0, lockFindings: 0 },
    });
    expect(r.serverVersion).toMatch(/^17\./);
    expect(r.drift).toBeUndefined();
    // docs/migration-set.md: 0_init holds the v1.0 tables, add_v2_tables five more, sixteen files one index each, then two triggers.
    expect(byFolder(r, "0_init").changes.summary.added.table).toBe(7);
    expect(byFolder(r, V2).changes.summary.added).toMatchObject({ table: 5, column: 3, enum: 4 });
    const indexFiles = r.pending.filter((f: Json) => f.mode !== "transaction");
    expect(indexFiles).toHaveLength(16);
    for (const f of indexFiles) expect(f.changes.summary.added, f.folder).toEqual({ index: 1 });
    expect(byFolder(r, TRIGGER).changes.lines).toEqual(
      expect.arrayContaining(['added trigger "trg_update_member_points" on "PointTransaction"', 'added trigger "trg_point_transaction_immutable" on "PointTransaction"']),
    );
    // An index or constraint of a table the same file creates comes with its table (diffCatalogs): the 16 are the later files' own.
    expect(r.summary.changes.added).toEqual({ table: 12, column: 3, index: 16, trigger: 2, function: 2, enum: 7 });
    // Every transactional file's locks were read before its COMMIT and match the prediction; the index files run outside a transaction.
    for (const f of r.pending) {
      if (f.mode === "transaction") {
        expect(f.locks.held.length, f.folder).toBeGreaterThan(0);
        expect(f.locks.findings, f.folder).toEqual([]);
      } else expect(f.locks, f.folder).toBeUndefined();
    }
    expect(byFolder(r, V2).locks.held).toEqual(expect.arrayContaining([{ table: '"Member"', mode: "ACCESS EXCLUSIVE" }]));

    const text = await migrate(["rehearse", "--dir", MIGRATIONS]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^Rehearsal on PostgreSQL 17\.\d+ \(the default; name a database or --pg-version for another\): from an empty database, then 20 pending files\./,
    );
    expect(text.stdout).toContain(`  ${V2}/migration.sql  transaction  applied in `);
    expect(text.stdout).toContain("    changes: +5 tables, +3 columns, +4 enums\n");
    expect(text.stdout.trim().split("\n").at(-1)).toMatch(
      /^Rehearsed on PostgreSQL 17\.\d+: 20 pending files apply; \+12 tables, \+3 columns, \+16 indexes, \+2 triggers, \+2 functions, \+7 enums, ~5 constraints; locks as predicted\.$/,
    );
  }, 120_000);

  test("--since 0_init on PostgreSQL 16: 0_init replayed, the 19 v2 files rehearsed on 16", async () => {
    const run = await migrateJson(["rehearse", "--dir", MIGRATIONS, "--since", "0_init", "--pg-version", "16"]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.json).toMatchObject({ major: 16, majorFrom: "--pg-version", applied: { files: 1, from: "--since", head: "0_init" }, summary: { applied: 19, failed: 0 } });
    expect(run.json.serverVersion).toMatch(/^16\./);
    expect(run.json.summary.changes.added).toMatchObject({ table: 5, index: 16, trigger: 2 });
  }, 120_000);

  test("a broken file fails with its file:line, exit 1; the files after it are not rehearsed", async () => {
    const dir = await seedCopy();
    await writeMigration(dir, {
      version: "20260201000000",
      name: "broken",
      sql: `-- adds a column\nALTER TABLE "Member" ADD COLUMN "nickname" text;\nALTER TABLE "Membr" ADD COLUMN "x" int;\n`,
    });
    await writeMigration(dir, { version: "20260201000001", name: "after", sql: `CREATE TABLE "After" (id int);\n` });
    const run = await migrateJson(["rehearse", "--dir", dir, "--since", TRIGGER]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.json.pending.map((f: Json) => [f.folder, f.outcome])).toEqual([
      ["20260201000000_broken", "failed"],
      ["20260201000001_after", "not rehearsed"],
    ]);
    expect(run.json.pending[0].error).toMatchObject({ file: "20260201000000_broken/migration.sql", line: 3, sqlState: "42P01" });
    // The CLI prints formatRehearsal of the same report (its text is run once, in the first test): one server less here.
    const text = { stdout: formatRehearsal(run.json) };
    expect(text.stdout).toContain('    20260201000000_broken/migration.sql:3: relation "Membr" does not exist (SQLSTATE 42P01)\n');
    expect(text.stdout.trim().split("\n").at(-1)).toMatch(
      /^Rehearsed on PostgreSQL 17\.\d+: 20260201000000_broken\/migration\.sql:3 fails: relation "Membr" does not exist \(SQLSTATE 42P01\); 0 pending files before it applied, 1 not rehearsed after it\.$/,
    );
  }, 120_000);

  test("a lock PostgreSQL takes that the prediction lacks is a finding: an INSERT whose trigger updates another table (exit 0, said)", async () => {
    const dir = await seedCopy();
    await writeMigration(dir, {
      version: "20260201000000",
      name: "member",
      sql: `INSERT INTO "Member" (id, email, username, "displayName", "updatedAt") VALUES ('m1', 'a@x', 'a', 'A', now());\n`,
    });
    // table-locks predicts ROW EXCLUSIVE on "PointTransaction" for the INSERT; its foreign key's check
    // (ROW SHARE) and trg_update_member_points' UPDATE (ROW EXCLUSIVE) lock "Member" too.
    await writeMigration(dir, {
      version: "20260201000001",
      name: "points",
      sql: `INSERT INTO "PointTransaction" (id, "memberId", action, points) VALUES ('p1', 'm1', 'signup', 10);\n`,
    });
    const run = await migrateJson(["rehearse", "--dir", dir, "--since", TRIGGER]);
    expect(run.code, printed(run)).toBe(0);
    expect(byFolder(run.json, "20260201000000_member").locks.findings).toEqual([]);
    const points = byFolder(run.json, "20260201000001_points");
    expect(points.locks.held).toEqual([
      { table: '"Member"', mode: "ROW EXCLUSIVE" },
      { table: '"Member"', mode: "ROW SHARE" },
      { table: '"PointTransaction"', mode: "ROW EXCLUSIVE" },
    ]);
    expect(points.locks.findings).toEqual([
      { table: '"Member"', held: "ROW EXCLUSIVE", kind: "unpredicted", predicted: [], line: `held ROW EXCLUSIVE on "Member", which the review does not predict` },
    ]);
    expect(run.json.summary.lockFindings).toBe(1);
    const text = { stdout: formatRehearsal(run.json) };
    expect(text.stdout).toContain(`    1 lock finding: held ROW EXCLUSIVE on "Member", which the review does not predict`);
    expect(text.stdout.trim().split("\n").at(-1)).toMatch(/: 2 pending files apply; no schema change; 1 lock finding\.$/);
  }, 120_000);

  test("usage: --since or --pg-version with a database, a bad major, --large-table-rows elsewhere (exit 2)", async () => {
    for (const [argv, message] of [
      [["rehearse", "--database-url", "postgresql://u@localhost/x", "--since", "0_init"], /--since and --pg-version are for a rehearsal with no database/],
      [["rehearse", "--pg-version", "12"], /--pg-version "12" is not a PostgreSQL major the migrator runs on/],
      [["plan", "--large-table-rows", "5"], /--large-table-rows goes with rehearse/],
      [["rehearse", "--large-table-rows", "many"], /--large-table-rows "many" is not a whole number/],
      [["rehearse", "--all"], /--all goes with lint/],
    ] as const) {
      const run = await migrate([...argv]);
      expect(run.code, printed(run)).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  });
});

describe("migrate rehearse against a database", () => {
  /** The seed set applied to a fresh database, with a few members analysed so the planner knows its size. */
  async function seededTarget(): Promise<string> {
    const url = await freshDatabase("rehearse");
    const run = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
    expect(run.code, printed(run)).toBe(0);
    await query(
      url,
      `INSERT INTO "Member" (id, email, username, "displayName", "updatedAt") SELECT 'm' || i, i || '@x', 'u' || i, 'M', now() FROM generate_series(1, 500) AS i; ANALYZE "Member"`,
    );
    return url;
  }

  async function withPending(): Promise<string> {
    const dir = await seedCopy();
    await writeMigration(dir, {
      version: "20260201000000",
      name: "member_handle",
      sql: `ALTER TABLE "Member" ADD COLUMN "handle" text;\nCREATE INDEX "Member_handle_idx" ON "Member" ("handle");\nALTER TABLE "Member" ALTER COLUMN "totalPoints" TYPE numeric;\n`,
    });
    return dir;
  }

  /** What must not change on the target: the ledger, the snapshot table and the catalog. */
  async function targetState(url: string) {
    return {
      ledger: await ledgerRows(url),
      snapshots: await query(url, "SELECT head, sha256 FROM migrator.applied_migrations_snapshots ORDER BY head"),
      catalog: await withTestClient(url, async (c) => fingerprintOf(await takeCatalog(c, DEFAULT_LEDGER))),
    };
  }

  test("the replay matches the database; the pending file is rehearsed with its changes, its real rewrite and the large tables it scans; the target is untouched", async () => {
    const url = await seededTarget();
    const dir = await withPending();
    const before = await targetState(url);
    const run = await migrateJson(["rehearse", "--database-url", url, "--dir", dir, "--large-table-rows", "100"]);
    expect(run.code, printed(run)).toBe(0);
    const r = run.json;
    expect(r).toMatchObject({
      majorFrom: "database",
      applied: { files: 20, from: "ledger", head: TRIGGER },
      drift: { matches: true, differences: [] },
      summary: { applied: 1, failed: 0 },
    });
    const file = r.pending[0];
    expect(file.changes.summary).toEqual({ added: { column: 1, index: 1 }, removed: {}, altered: { column: 1 } });
    expect(file.changes.lines).toEqual([
      'added column "Member"."handle" text',
      'altered column "Member"."totalPoints": type bigint -> numeric',
      'added index "Member_handle_idx"',
    ]);
    // bigint to numeric is not binary-compatible: PostgreSQL gave the table new storage, and the rehearsal saw it.
    expect(file.rewrote).toEqual(['"Member"']);
    expect(file.locks.findings).toEqual([]);
    expect(file.work.map((w: Json) => [w.line, w.work, w.table, w.large, w.size?.rows])).toEqual([
      [2, "scans", '"Member"', true, 500],
      [3, "rewrites", '"Member"', true, 500],
    ]);
    expect(r.summary.largeTableWork).toBe(2);

    const text = { stdout: formatRehearsal(run.json) };
    expect(text.stdout).toMatch(/^Rehearsal on PostgreSQL 17\.\d+ \(the database's major\): 20 applied files \(from the ledger of .*\) replayed, then 1 pending file\./);
    expect(text.stdout).toMatch(/\nThe replay matches the database \(sha256 [0-9a-f]{64}\)\.\n/);
    expect(text.stdout).toContain("    changes: +1 column, +1 index, ~1 column\n");
    expect(text.stdout).toContain(`    rewrote "Member" (new storage: every row copied under the file's lock)`);
    expect(text.stdout).toMatch(/ {4}large table: L2 scans "Member", ~500 rows, \d+ pages \([\d.]+ MiB\): CREATE INDEX reads the table \(writes wait\)/);
    expect(text.stdout.trim().split("\n").at(-1)).toMatch(
      /^Rehearsed on PostgreSQL 17\.\d+: 1 pending file applies; \+1 column, \+1 index, ~1 column; locks as predicted; 2 statements rewriting or scanning a large table\.$/,
    );

    expect(await targetState(url)).toEqual(before);
    expect(await query(url, `SELECT 1 FROM information_schema.columns WHERE table_name = 'Member' AND column_name = 'handle'`)).toEqual([]);
  }, 180_000);

  test("a column added by hand on the target is named as drift, and the rehearsal goes on", async () => {
    const url = await seededTarget();
    const dir = await withPending();
    await query(url, `ALTER TABLE "Member" ADD COLUMN "nickname" text`);
    const run = await migrateJson(["rehearse", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.json.drift.matches).toBe(false);
    expect(run.json.drift.differences.map((d: Json) => d.line)).toEqual([`column "Member"."nickname" text exists in the database, not in the migrations`]);
    expect(run.json.summary.applied).toBe(1);
    const text = { stdout: formatRehearsal(run.json) };
    expect(text.stdout).toContain(
      `Drift: the database differs from the replayed applied files in 1 place (the rehearsal goes on from the files):\n  column "Member"."nickname" text exists in the database, not in the migrations\n`,
    );
  }, 180_000);

  test("a database Prisma migrated, not adopted yet: what apply adopts is the applied part, Prisma's table is no drift, only the new file is rehearsed", async () => {
    const url = await freshDatabase("rehearse");
    const dir = await withPending();
    const seedFolders = (await readMigrationSet(MIGRATIONS)).files.map((f) => f.folder);
    await migrateAsPrisma(url, dir, seedFolders);
    const run = await migrateJson(["rehearse", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(run.json).toMatchObject({ applied: { files: 20, head: TRIGGER }, summary: { applied: 1, failed: 0 } });
    // Prisma's table is not drift; the one difference is real: Prisma's session sets search_path to
    // its schema (migrateAsPrisma, as sql-schema-connector does), so the trigger function's
    // `SET search_path FROM CURRENT` captured 'public' there and '"$user", public' in the replay.
    expect(run.json.drift.differences.map((d: Json) => `${d.kind} ${d.name} ${d.field}`)).toEqual([`function "update_member_points"() definition`]);
    expect(run.json.pending.map((f: Json) => f.folder)).toEqual(["20260201000000_member_handle"]);
    expect(run.json.notes).toContain(`20 files of Prisma's history ("public"."_prisma_migrations") counted as applied: \`apply\` adopts them, running none`);
    // Nothing adopted on the target: the rehearsal only reads.
    expect(await query(url, "SELECT to_regclass('migrator.applied_migrations') IS NULL AS none")).toEqual([{ none: true }]);
  }, 180_000);

  test("an applied file whose folder is gone: nothing is rehearsed, exit 1, naming it and why", async () => {
    const url = await seededTarget();
    const dir = await seedCopy();
    await rm(path.join(dir, TRIGGER), { recursive: true });
    const run = await migrate(["rehearse", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `cannot replay: 1 applied migration has no folder in .* \\(${TRIGGER}\\); restore it from version control, since the rehearsal replays every applied file before the pending ones`,
      ),
    );
    expect(run.stdout).toBe("");
  });

  test("the target session is read-only: after the rehearsal read it, a write on it is refused", async () => {
    const url = await seededTarget();
    const set = await readMigrationSet(MIGRATIONS);
    const ctx = { ledger: DEFAULT_LEDGER, lockWaitMs: 1_000, reporter: { event: () => {} }, dir: MIGRATIONS };
    const error = await withClient({ config: { connectionString: url }, display: "target", secrets: [] }, async (client) => {
      const state = await readTargetState(client, ctx, set, "target");
      expect(state.applied).toHaveLength(20);
      expect(state.pending).toEqual([]);
      return client.query(`CREATE TABLE "Written" (id int)`).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    });
    expect(error?.code).toBe("25006");
    expect(error?.message).toMatch(/cannot execute CREATE TABLE in a read-only transaction/);
  });
});
