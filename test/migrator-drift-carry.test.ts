import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { holdLock } from "./support/locks.js";
import { query } from "./support/migrator-db.js";
import { MIGRATIONS } from "./support/seed-set.js";
import { writeMigration } from "./support/sets.js";

// `apply` without --fail-on-drift on a real PostgreSQL 17: drift made by hand before the run is
// carried into the snapshot the run records (migrator/catalog/carry.ts), so `migrate drift` still
// names it after any number of applies; only a migration (or restoring the object) settles it.

const PLANTED = `column "Member"."nickname" text exists in the database, not in the migrations`;
const CARRIED = /^warning: drift carried into the new snapshot at (\S+): (\d+) differences?; `migrate drift` lists (it|them)$/m;
const folders: string[] = [];

afterAll(async () => {
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

/** A database with the seed set applied, and a copy of the set to add pending files to. */
async function seeded(): Promise<{ url: string; dir: string }> {
  const url = await freshDatabase("carry");
  const first = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
  expect(first.code, printed(first)).toBe(0);
  const dir = await mkdtemp(path.join(os.tmpdir(), "carry-set-"));
  folders.push(dir);
  await cp(MIGRATIONS, dir, { recursive: true });
  return { url, dir };
}

const apply = (url: string, dir: string) => migrate(["apply", "--database-url", url, "--dir", dir]);
const driftJson = (url: string, dir: string, ...extra: string[]) => migrateJson(["drift", "--database-url", url, "--dir", dir, ...extra]);

describe("apply carries drift into the new snapshot", () => {
  test("a column added by hand, then two applies of new files: `migrate drift` still names it, as a replay does; dropped again, no drift", async () => {
    const { url, dir } = await seeded();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    await writeMigration(dir, { version: "20990101000000", name: "add_audit", sql: `CREATE TABLE "Audit" (id bigint PRIMARY KEY, at timestamptz NOT NULL);\n` });
    const first = await apply(url, dir);
    expect(first.code, printed(first)).toBe(0);
    expect(first.stdout).toMatch(/applied\s+20990101000000_add_audit/);
    expect(CARRIED.exec(first.stderr + first.stdout)?.slice(1, 3)).toEqual(["20990101000000_add_audit", "1"]);

    const drift = await driftJson(url, dir);
    expect(drift.code, printed(drift)).toBe(1);
    expect(drift.json).toMatchObject({ head: "20990101000000_add_audit", against: "snapshot" });
    expect(drift.json.differences.map((d: { line: string }) => d.line)).toEqual([PLANTED]);
    // The carried snapshot is what the migrations produce: a replay of the files finds the same.
    const replay = await driftJson(url, dir, "--replay");
    expect(replay.code, printed(replay)).toBe(1);
    expect(replay.json.differences.map((d: { line: string }) => d.line)).toEqual([PLANTED]);
    expect(replay.json.expectedSha256).toBe(drift.json.expectedSha256);

    // A second run carries it again, from the carried snapshot.
    await writeMigration(dir, { version: "20990102000000", name: "audit_index", sql: `CREATE INDEX "Audit_at_idx" ON "Audit" (at);\n` });
    const second = await apply(url, dir);
    expect(second.code, printed(second)).toBe(0);
    expect(CARRIED.exec(second.stderr + second.stdout)?.slice(1, 3)).toEqual(["20990102000000_audit_index", "1"]);
    const still = await driftJson(url, dir);
    expect(still.json.differences.map((d: { line: string }) => d.line)).toEqual([PLANTED]);

    // Restoring the object settles it.
    await query(url, `ALTER TABLE "Member" DROP COLUMN nickname`);
    const settled = await driftJson(url, dir);
    expect(settled.code, printed(settled)).toBe(0);
    expect(settled.json.differences).toEqual([]);
  });

  test("a pending file that makes the hand-made column its own (ADD COLUMN IF NOT EXISTS) settles it: nothing carried, no drift", async () => {
    const { url, dir } = await seeded();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    await writeMigration(dir, { version: "20990101000000", name: "member_nickname", sql: `ALTER TABLE "Member" ADD COLUMN IF NOT EXISTS nickname text;\n` });
    const run = await apply(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/drift carried/);
    const drift = await driftJson(url, dir);
    expect(drift.code, printed(drift)).toBe(0);
    expect(drift.json.differences).toEqual([]);
  });

  test("an index dropped by hand: carried while no file makes it again; a file that creates it settles it", async () => {
    const { url, dir } = await seeded();
    await query(url, `DROP INDEX "Member_totalPoints_idx"`);
    await writeMigration(dir, { version: "20990101000000", name: "add_audit", sql: `CREATE TABLE "Audit" (id bigint PRIMARY KEY);\n` });
    expect((await apply(url, dir)).code).toBe(0);
    const carried = await driftJson(url, dir);
    expect(carried.json.differences.map((d: { line: string }) => d.line)).toEqual([`index "Member_totalPoints_idx" is in the migrations, missing from the database`]);

    await writeMigration(dir, { version: "20990102000000", name: "points_index", sql: `CREATE INDEX "Member_totalPoints_idx" ON "Member" ("totalPoints" DESC);\n` });
    const run = await apply(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/drift carried/);
    const drift = await driftJson(url, dir);
    expect(drift.json.differences.map((d: { line: string }) => d.line)).toEqual([]);
  });

  test("a run that fails after one new file still carries the drift at the head it reached, so the fixed rerun keeps naming it", async () => {
    const { url, dir } = await seeded();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text`);
    await writeMigration(dir, { version: "20990101000000", name: "add_audit", sql: `CREATE TABLE "Audit" (id bigint PRIMARY KEY);\n` });
    await writeMigration(dir, { version: "20990102000000", name: "broken", sql: `INSERT INTO "Missing" VALUES (1);\n` });
    const failed = await apply(url, dir);
    expect(failed.code, printed(failed)).toBe(1);
    expect(CARRIED.exec(failed.stderr + failed.stdout)?.slice(1, 3)).toEqual(["20990101000000_add_audit", "1"]);
    expect((await driftJson(url, dir)).json.differences.map((d: { line: string }) => d.line)).toEqual([PLANTED]);

    await writeMigration(dir, { version: "20990102000000", name: "broken", sql: `CREATE TABLE "Missing" (id int);\n` });
    const fixed = await apply(url, dir);
    expect(fixed.code, printed(fixed)).toBe(0);
    const drift = await driftJson(url, dir);
    expect(drift.json).toMatchObject({ head: "20990102000000_broken" });
    expect(drift.json.differences.map((d: { line: string }) => d.line)).toEqual([PLANTED]);
  });

  test("a session holding ACCESS EXCLUSIVE on a table: the catalog reads give up after lock_timeout, say so, and the file that does not need that table applies", async () => {
    const { url, dir } = await seeded();
    await writeMigration(dir, { version: "20990101000000", name: "add_audit", sql: `CREATE TABLE "Audit" (id bigint PRIMARY KEY);\n` });
    const holder = await holdLock(url, `LOCK TABLE "Member" IN ACCESS EXCLUSIVE MODE`);
    try {
      const run = await migrate(["apply", "--database-url", url, "--dir", dir, "--lock-timeout", "300ms"]);
      expect(run.code, printed(run)).toBe(0);
      expect(run.stdout + run.stderr).toMatch(
        /^note: drift not checked before applying: reading the catalog: canceling statement due to lock timeout; a change made by hand/m,
      );
      expect(run.stdout).toMatch(/applied\s+20990101000000_add_audit/);
      expect(run.stdout + run.stderr).toMatch(/^warning: the schema snapshot was not recorded \(reading the catalog: canceling statement due to lock timeout\)/m);
    } finally {
      await holder.release();
    }
  });

  test("no drift: the run says nothing about drift and the snapshot is the live catalog", async () => {
    const { url, dir } = await seeded();
    await writeMigration(dir, { version: "20990101000000", name: "add_audit", sql: `CREATE TABLE "Audit" (id bigint PRIMARY KEY);\n` });
    const run = await apply(url, dir);
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout + run.stderr).not.toMatch(/^(warning|note): drift|^ {2}drift /m);
    const drift = await driftJson(url, dir);
    expect(drift.code, printed(drift)).toBe(0);
    expect(drift.json.liveSha256).toBe(drift.json.snapshot.sha256);
  });
});
