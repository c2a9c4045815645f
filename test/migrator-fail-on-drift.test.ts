import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows, query } from "./support/migrator-db.js";
import { MIGRATIONS } from "./support/seed-set.js";
import { writeMigration } from "./support/sets.js";

// `apply --fail-on-drift` on a real PostgreSQL 17: before any pending file, under the migration
// lock, the schema is compared with the snapshot at the applied head. Drift refuses the run with
// each difference and applies nothing; no drift, or nothing to compare with, goes on.

const HEAD = "20260123015834_add_points_trigger";
const PLANTED = `column "Member"."nickname" text exists in the database, not in the migrations`;
/** The progress lines the check prints: `  drift       none: …` or `note: drift not checked …`. */
const DRIFT_LINE = /^ {2}drift |^note: drift/m;
const folders: string[] = [];

afterAll(async () => {
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

/** A database with the seed set applied, and a copy of the set with one more file pending. */
async function seededWithPending(): Promise<{ url: string; dir: string }> {
  const url = await freshDatabase("faildrift");
  const first = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
  expect(first.code, printed(first)).toBe(0);
  const dir = await mkdtemp(path.join(os.tmpdir(), "fail-on-drift-"));
  folders.push(dir);
  await cp(MIGRATIONS, dir, { recursive: true });
  await writeMigration(dir, { version: "20990101000000", name: "add_member_note", sql: `ALTER TABLE "Member" ADD COLUMN note text;\n` });
  return { url, dir };
}

const columnsOfMember = async (url: string) =>
  (await query<{ name: string }>(url, `SELECT attname AS name FROM pg_attribute WHERE attrelid = '"Member"'::regclass AND attnum > 0 AND NOT attisdropped`)).map(
    (r) => r.name,
  );

const applyFailing = (url: string, dir: string, ...extra: string[]) => migrate(["apply", "--database-url", url, "--dir", dir, "--fail-on-drift", ...extra]);

describe("apply --fail-on-drift", () => {
  test("a column added by hand: refused before the pending file, exit 1, each difference and what to do named, nothing applied", async () => {
    const { url, dir } = await seededWithPending();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    const before = await ledgerRows(url);
    const run = await applyFailing(url, dir);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`the database's schema drifted from the snapshot recorded at ${HEAD} \\(sha256 [0-9a-f]{64}\\): 1 difference; nothing was applied`),
    );
    expect(run.stderr.split("\n")).toContain(`  ${PLANTED}`);
    expect(run.stderr).toMatch(/undo it in the database \(restore the object as the migrations define it\)/);
    expect(run.stderr).toMatch(/write a migration that makes the change the files' own/);
    expect(run.stdout).not.toMatch(/applied\s+20990101000000/);
    // What the database holds: the pending file did not run, its ledger row is not there, nothing else changed.
    expect(await columnsOfMember(url)).not.toContain("note");
    expect(await columnsOfMember(url)).toContain("nickname");
    expect(await ledgerRows(url)).toEqual(before);
  });

  test("--json: the error carries the differences as data", async () => {
    const { url, dir } = await seededWithPending();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    const run = await migrateJson(["apply", "--database-url", url, "--dir", dir, "--fail-on-drift"]);
    expect(run.code, printed(run)).toBe(1);
    expect(run.json.error).toMatchObject({
      kind: "SchemaDriftError",
      differences: [{ kind: "column", name: '"Member"."nickname"', change: "added", line: PLANTED }],
    });
    expect(await columnsOfMember(url)).not.toContain("note");
  });

  test("once the object is restored, the same run goes on: drift none, the pending file applied", async () => {
    const { url, dir } = await seededWithPending();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    expect((await applyFailing(url, dir)).code).toBe(1);
    await query(url, `ALTER TABLE "Member" DROP COLUMN nickname`);
    const run = await applyFailing(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`drift {7}none: the schema is the snapshot's at ${HEAD}`));
    expect(run.stdout).toMatch(/applied\s+20990101000000_add_member_note/);
    expect(await columnsOfMember(url)).toContain("note");
    expect((await ledgerRows(url)).at(-1)).toMatchObject({ version: "20990101000000", status: "applied" });
    // The new head has its own snapshot, so the next drift check compares with it.
    const drift = await migrate(["drift", "--database-url", url, "--dir", dir]);
    expect(drift.code, printed(drift)).toBe(0);
  });

  test("an index made INVALID and a grant are refused too, each named", async () => {
    const { url, dir } = await seededWithPending();
    const role = `faildrift_reader_${process.pid}`;
    await query(url, `DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await query(url, `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"Member_totalPoints_idx"'::regclass`);
    await query(url, `GRANT SELECT ON "Member" TO ${role}`);
    const run = await applyFailing(url, dir);
    expect(run.code, printed(run)).toBe(1);
    const lines = run.stderr.split("\n");
    expect(lines).toContain(`  index "Member_totalPoints_idx" is INVALID in the database (rebuild it: REINDEX INDEX CONCURRENTLY "Member_totalPoints_idx")`);
    expect(lines).toContain(`  grants on table "Member" differ: the database also grants ${role}=SELECT`);
    expect(run.stderr).toMatch(/: 2 differences; nothing was applied/);
    expect(await columnsOfMember(url)).not.toContain("note");
  });

  test("no snapshot at the head (applied by an older migrator): said, not blocked, the pending file applied", async () => {
    const { url, dir } = await seededWithPending();
    await query(url, "DROP TABLE migrator.applied_migrations_snapshots");
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    const run = await applyFailing(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`note: drift not checked before applying: no schema snapshot is recorded at the applied head ${HEAD}`));
    expect(await columnsOfMember(url)).toContain("note");
  });

  test("nothing pending: nothing to protect, so no check and exit 0; a fresh database (nothing applied) applies the whole set", async () => {
    const { url } = await seededWithPending();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    const rerun = await applyFailing(url, MIGRATIONS);
    expect(rerun.code, printed(rerun)).toBe(0);
    expect(rerun.stdout).not.toMatch(DRIFT_LINE);

    const fresh = await freshDatabase("faildrift");
    const first = await applyFailing(fresh, MIGRATIONS);
    expect(first.code, printed(first)).toBe(0);
    expect(first.stdout).not.toMatch(DRIFT_LINE);
    expect(await ledgerRows(fresh)).toHaveLength(20);
  });

  test("without the flag a drifted database is applied to, as before", async () => {
    const { url, dir } = await seededWithPending();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
    expect(run.code, printed(run)).toBe(0);
    expect(await columnsOfMember(url)).toContain("note");
  });

  test("--fail-on-drift with another verb is bad usage, exit 2", async () => {
    const run = await migrate(["plan", "--fail-on-drift", "--database-url", "postgresql://x@localhost/x"]);
    expect(run.code, printed(run)).toBe(2);
    expect(run.stderr).toMatch(/--fail-on-drift goes with apply/);
  });
});
