import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, inject, test } from "vitest";
import { lockKey } from "../migrator/advisory-lock.js";
import { startEmbedded } from "../migrator/embedded/server.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { migrate, migrateJson, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { holdLock } from "./support/locks.js";
import { query } from "./support/migrator-db.js";
import { MIGRATIONS } from "./support/seed-set.js";

// `migrate drift` on a real PostgreSQL 17: drift planted by hand (a column, an index made INVALID,
// a function edited, a grant) is found and named, against the snapshot and against a replay;
// nothing is reported after a clean apply, a rerun, ANALYZE/VACUUM or a server restart.

const HEAD = "20260123015834_add_points_trigger";
const role = `drift_reader_${process.pid}`;

async function seeded(): Promise<string> {
  const url = await freshDatabase("drift");
  const run = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
  expect(run.code, printed(run)).toBe(0);
  return url;
}

const drift = (url: string, ...extra: string[]) => migrate(["drift", "--database-url", url, "--dir", MIGRATIONS, ...extra]);

beforeAll(async () => {
  // Roles are the server's, not a database's: made once for the file.
  await withTestClient(inject("serverUrl"), (c) => c.query(`DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`));
});

describe("migrate drift", () => {
  test("none after a clean apply, a rerun, ANALYZE and VACUUM: against the snapshot and against a replay", async () => {
    const url = await seeded();
    const clean = await drift(url);
    expect(clean.code, printed(clean)).toBe(0);
    expect(clean.stdout).toMatch(new RegExp(`Compared .* with the snapshot recorded at ${HEAD} \\(.*, sha256 [0-9a-f]{64}\\)\\.`));
    expect(clean.stdout).toMatch(new RegExp(`No drift: the schema is what the applied migrations up to ${HEAD} produce \\(sha256 [0-9a-f]{64}\\)\\.`));

    expect((await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"])).code).toBe(0);
    await query(url, `INSERT INTO "Member" (id, email, username, "displayName", "updatedAt") VALUES ('m1', 'a@x', 'a', 'A', now())`);
    await query(url, "ANALYZE");
    await query(url, `VACUUM "Member"`);
    const json = await migrateJson(["drift", "--database-url", url, "--dir", MIGRATIONS]);
    expect(json.code, printed(json)).toBe(0);
    expect(json.json).toMatchObject({ head: HEAD, against: "snapshot", normaliser: 1, differences: [], notes: [] });
    expect(json.json.liveSha256).toBe(json.json.snapshot.sha256);

    const replay = await migrateJson(["drift", "--database-url", url, "--dir", MIGRATIONS, "--replay"]);
    expect(replay.code, printed(replay)).toBe(0);
    expect(replay.json).toMatchObject({ against: "replay", replay: { files: 20 }, differences: [] });
    expect(replay.json.replay.serverVersion).toMatch(/^17\./);
    expect(replay.json.expectedSha256).toBe(replay.json.liveSha256);
  });

  const PLANTED: [string, string, string][] = [
    ["a column", `ALTER TABLE "Member" ADD COLUMN nickname text`, `column "Member"."nickname" text exists in the database, not in the migrations`],
    [
      "an index made INVALID",
      `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"Member_totalPoints_idx"'::regclass`,
      `index "Member_totalPoints_idx" is INVALID in the database (rebuild it: REINDEX INDEX CONCURRENTLY "Member_totalPoints_idx")`,
    ],
    [
      "a function edited",
      `CREATE OR REPLACE FUNCTION "update_member_points"() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ BEGIN RETURN NULL; END; $$`,
      `function "update_member_points"() body differs from the migrations'`,
    ],
    ["a grant", `GRANT SELECT ON "Member" TO ${role}`, `grants on table "Member" differ: the database also grants ${role}=SELECT`],
  ];

  test.each(PLANTED)(
    "%s planted by hand is found and named, exit 1, against the snapshot and against a replay",
    async (_what, plant, line) => {
      const url = await seeded();
      await query(url, plant);
      for (const extra of [[], ["--replay"]]) {
        const run = await drift(url, ...extra);
        expect(run.code, printed(run)).toBe(1);
        expect(run.stdout.split("\n")).toContain(`  ${line}`);
        expect(run.stdout).toMatch(/Drift: 1 difference from the migrations\. Write a migration that makes the change the files' own, or undo it in the database/);
        const json = await migrateJson(["drift", "--database-url", url, "--dir", MIGRATIONS, ...extra]);
        expect(json.code).toBe(1);
        expect(json.json.differences.map((d: { line: string }) => d.line)).toEqual([line]);
      }
    },
    120_000,
  );

  test("--json names each difference as data", async () => {
    const url = await seeded();
    await query(url, `ALTER TABLE "Member" ADD COLUMN nickname text; ALTER TABLE "Member" ALTER COLUMN "bio" SET DEFAULT 'hi'`);
    const { json, code } = await migrateJson(["drift", "--database-url", url, "--dir", MIGRATIONS]);
    expect(code).toBe(1);
    expect(json.differences).toEqual([
      expect.objectContaining({ kind: "column", name: '"Member"."bio"', change: "altered", field: "default", before: null, after: "'hi'::text" }),
      expect.objectContaining({ kind: "column", name: '"Member"."nickname"', change: "added", line: expect.stringMatching(/exists in the database/) }),
    ]);
  });

  test("none after a server restart", async () => {
    const rootDir = await mkdtemp(path.join(os.tmpdir(), "drift-restart-"));
    try {
      let server = await startEmbedded({ rootDir, persistent: true });
      const port = server.port;
      const url = await freshDatabase("drift", server.url("postgres"));
      expect((await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"])).code).toBe(0);
      await server.stop();
      server = await startEmbedded({ rootDir, persistent: true, port });
      try {
        const run = await drift(url);
        expect(run.code, printed(run)).toBe(0);
        expect(run.stdout).toMatch(/No drift/);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(rootDir, { recursive: true, force: true });
    }
  }, 120_000);

  test("runs under the migration lock: while another migrator holds it, drift waits and gives up naming it", async () => {
    const url = await seeded();
    const holder = await holdLock(url, `SELECT pg_advisory_lock(${lockKey(DEFAULT_LEDGER).toString()})`);
    try {
      const run = await drift(url, "--lock-wait", "300ms");
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`another migrator holds the migration lock.*pid ${holder.pid}`));
    } finally {
      await holder.release();
    }
  });

  test("a session holding ACCESS EXCLUSIVE on a table: drift gives up after --lock-timeout, exit 1, saying nothing was compared", async () => {
    const url = await seeded();
    const holder = await holdLock(url, `LOCK TABLE "Member" IN ACCESS EXCLUSIVE MODE`);
    try {
      const run = await drift(url, "--lock-timeout", "300ms");
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toMatch(
        /reading the schema waited more than 0\.3s for a table another session holds locked; nothing was compared: run drift again when that session is done/,
      );
    } finally {
      await holder.release();
    }
  });

  test("no snapshot at the head (applied by an older migrator): exit 1 saying to use --replay, which then compares", async () => {
    const url = await seeded();
    await query(url, "DROP TABLE migrator.applied_migrations_snapshots");
    const run = await drift(url);
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`no schema snapshot is recorded at the applied head ${HEAD} .*\`migrate drift --replay\` compares with what the applied files produce`),
    );
    const replay = await drift(url, "--replay");
    expect(replay.code, printed(replay)).toBe(0);
    expect(replay.stdout).toMatch(/with the 20 applied files replayed on PostgreSQL 17\.\d+/);
  });

  test("--replay of an applied file that was edited since says so; a missing one is refused naming it", async () => {
    const url = await seeded();
    await query(url, `UPDATE migrator.applied_migrations SET checksum = repeat('0', 64) WHERE version = '20260123015821'`);
    const edited = await migrateJson(["drift", "--database-url", url, "--dir", MIGRATIONS, "--replay"]);
    expect(edited.json.notes).toEqual(["20260123015821_idx_resource_slug/migration.sql was edited after it was applied; replayed as it is on disk"]);
    await query(
      url,
      `INSERT INTO migrator.applied_migrations (folder, version, name, checksum, transactional, status) VALUES ('30000000000000_gone', '30000000000000', 'gone', repeat('0', 64), true, 'applied')`,
    );
    const missing = await drift(url, "--replay");
    expect(missing.code, printed(missing)).toBe(1);
    expect(missing.stderr).toMatch(/cannot replay: 1 applied migration has no folder in .* \(30000000000000_gone\); restore it from version control/);
  });
});
