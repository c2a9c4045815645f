/**
 * Faults while applying, with real processes and signals on a real PostgreSQL: the migrator
 * killed, its backend terminated, the server restarted. Each case ends with the database
 * consistent with the ledger and a rerun that converges.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { freePort, startEmbedded } from "../migrator/embedded/server.js";
import { migrateProcess, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { startMigrator, waitFor, waitForMigratorQuery, waitForNoMigratorSession } from "./support/faults.js";
import { ledgerRows, query, relationExists } from "./support/migrator-db.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

/**
 * The long file sleeps as long as fault_control says, so the rerun runs the very same file
 * (same checksum) quickly: the test sets the sleep to 0 before rerunning.
 */
const LONG_SET: SetFile[] = [
  { version: "1", name: "items", sql: "CREATE TABLE items (id int PRIMARY KEY, note text);\nINSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 1000) g;\n" },
  {
    version: "2",
    name: "long",
    sql: "ALTER TABLE items ADD COLUMN flag boolean;\nCREATE TABLE long_done (id int);\nSELECT pg_sleep((SELECT seconds FROM fault_control));\nINSERT INTO long_done VALUES (1);\n",
  },
  { version: "3", name: "tail", sql: "CREATE TABLE tail (id int);\n" },
];

async function longSetDatabase(seconds: number): Promise<string> {
  const url = await freshDatabase("fault");
  await query(url, `CREATE TABLE fault_control (seconds float8 NOT NULL); INSERT INTO fault_control VALUES (${seconds})`);
  return url;
}

/** The database holds exactly what the ledger says of LONG_SET: nothing of file 2 unless it is recorded. */
async function expectConsistent(url: string, applied: string[]): Promise<void> {
  expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(applied.map((v) => `${v}:applied`));
  const has2 = applied.includes("2");
  expect(await relationExists(url, "long_done")).toBe(has2);
  const flag = await query(url, `SELECT 1 FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'flag'`);
  expect(flag.length).toBe(has2 ? 1 : 0);
  expect(await relationExists(url, "tail")).toBe(applied.includes("3"));
  // No lock of any session is left on the table.
  expect(await query(url, `SELECT 1 FROM pg_locks WHERE relation = 'items'::regclass AND pid <> pg_backend_pid()`)).toEqual([]);
}

async function rerunConverges(url: string, dir: string): Promise<void> {
  await query(url, "UPDATE fault_control SET seconds = 0");
  const rerun = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
  expect(rerun.code, printed(rerun)).toBe(0);
  await expectConsistent(url, ["1", "2", "3"]);
  expect((await query(url, "SELECT count(*)::int AS n FROM long_done"))[0].n).toBe(1);
  const again = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
  expect(again.code, printed(again)).toBe(0);
  expect(again.stdout).toMatch(/Nothing pending: all 3 migrations are applied/);
}

describe("the migrator process killed (SIGKILL, or SIGTERM as a cancelled CI job sends)", () => {
  test.each(["SIGKILL", "SIGTERM"] as const)(
    "%s in the middle of a long transactional file: the server rolls the file back and frees its locks at once; the rerun converges",
    async (signal) => {
      const url = await longSetDatabase(300);
      const dir = await writeSet(LONG_SET);
      const run = startMigrator(["apply", "--dir", dir], { DATABASE_URL: url });
      await waitForMigratorQuery(url, "pg_sleep((SELECT seconds FROM fault_control))");
      run.child.kill(signal);
      expect((await run.done).signal).toBe(signal);

      // The backend notices its client is gone (client_connection_check_interval) instead of
      // sleeping out the 300s with ACCESS EXCLUSIVE on items and the migration lock held.
      await waitForNoMigratorSession(url, 20_000);
      await expectConsistent(url, ["1"]);
      await rerunConverges(url, dir);
    },
    120_000,
  );

  test("the process holding the migration lock dies: the next run does not wait for it (nor forever)", async () => {
    const url = await longSetDatabase(300);
    const dir = await writeSet(LONG_SET);
    const first = startMigrator(["apply", "--dir", dir], { DATABASE_URL: url });
    await waitForMigratorQuery(url, "pg_sleep((SELECT seconds FROM fault_control))");
    // The next migrator starts while the dead one's session still holds the lock.
    await query(url, "UPDATE fault_control SET seconds = 0");
    const second = startMigrator(["apply", "--dir", dir, "--lock-wait", "30s"], { DATABASE_URL: url });
    first.child.kill("SIGKILL");
    const done = await second.done;
    // Without the dead-client check it would wait behind a 300s sleep and give up after 30s (exit 1).
    expect(done.code, printed(done)).toBe(0);
    expect(done.stdout).toMatch(/Applied 2 migrations/);
    await expectConsistent(url, ["1", "2", "3"]);
  }, 120_000);

  test("in the middle of a CREATE INDEX CONCURRENTLY build: the ledger says 'started', the index is INVALID; the rerun drops it and builds it again", async () => {
    const url = await freshDatabase("fault");
    const dir = await writeSet([
      LONG_SET[0]!,
      { version: "2", name: "note_index", sql: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_note_idx ON items (note);\n" },
    ]);
    const setup = await migrateProcess(["apply", "--dir", dir, "--only", "1"], { DATABASE_URL: url });
    expect(setup.code, printed(setup)).toBe(0);

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
      await waitForNoMigratorSession(url, 20_000);
    } finally {
      await app.query("ROLLBACK");
      await app.end();
    }

    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:started"]);
    const invalid = await query(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('items_note_idx')`);
    expect(invalid).toEqual([{ indisvalid: false }]);

    const status = await migrateProcess(["status", "--dir", dir, "--json"], { DATABASE_URL: url });
    expect(JSON.parse(status.stdout).pending).toEqual([{ folder: "2_note_index", version: "2", name: "note_index", transactional: false, resumes: true }]);

    const rerun = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
    expect(rerun.code, printed(rerun)).toBe(0);
    expect(rerun.stdout).toMatch(/repaired\s+2_note_index: dropped INVALID index items_note_idx/);
    expect(await query(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('items_note_idx')`)).toEqual([{ indisvalid: true }]);
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied"]);
  }, 120_000);
});

describe("the migrator's backend terminated (pg_terminate_backend) mid-file", () => {
  test("exit 1 saying the connection was lost and to run again; the file is rolled back; the rerun converges", async () => {
    const url = await longSetDatabase(300);
    const dir = await writeSet(LONG_SET);
    const run = startMigrator(["apply", "--dir", dir], { DATABASE_URL: url });
    const backend = await waitForMigratorQuery(url, "pg_sleep((SELECT seconds FROM fault_control))");
    await query(url, "SELECT pg_terminate_backend($1)", [backend.pid]);
    const done = await run.done;
    expect(done.code, printed(done)).toBe(1);
    expect(done.stderr).toMatch(/2_long\/migration\.sql:\d+: terminating connection due to administrator command/);
    expect(done.stderr).toMatch(/the connection to the database was lost; run again once it is back/);
    expect(done.stderr).not.toMatch(/fix the migration/);
    expect(done.stdout).toMatch(/Applied 1 migration before a failure/);
    await expectConsistent(url, ["1"]);
    await rerunConverges(url, dir);
  }, 120_000);
});

describe("the server restarted mid-file (a dedicated embedded server)", () => {
  test("exit 1 with the connection lost; after the restart the rerun converges", async () => {
    const rootDir = await mkdtemp(path.join(os.tmpdir(), "fault-restart-"));
    const port = await freePort();
    let server = await startEmbedded({ rootDir, persistent: true, port });
    try {
      await withTestClient(server.url("postgres"), (c) => c.query("CREATE DATABASE app"));
      const url = server.url("app");
      await query(url, "CREATE TABLE fault_control (seconds float8 NOT NULL); INSERT INTO fault_control VALUES (300)");
      const dir = await writeSet(LONG_SET);
      const run = startMigrator(["apply", "--dir", dir], { DATABASE_URL: url });
      await waitForMigratorQuery(url, "pg_sleep((SELECT seconds FROM fault_control))");
      await server.stop();
      const done = await run.done;
      expect(done.code, printed(done)).toBe(1);
      expect(done.stderr).toMatch(/2_long\/migration\.sql:\d+: terminating connection due to administrator command/);
      expect(done.stderr).toMatch(/the connection to the database was lost; run again once it is back/);

      // While it is down: a clear refusal, exit 1, no hang.
      const down = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/connecting to postgres@127\.0\.0\.1:\d+\/app failed: .*ECONNREFUSED/);

      server = await startEmbedded({ rootDir, persistent: true, port });
      await expectConsistent(url, ["1"]);
      await rerunConverges(url, dir);
    } finally {
      await server.stop().catch(() => {});
      await rm(rootDir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** Stops the server as a crash would: SIGQUIT to the postmaster is an immediate shutdown, with no final WAL flush. */
async function crash(dataDir: string): Promise<void> {
  const pid = Number((await readFile(path.join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
  process.kill(pid, "SIGQUIT");
  await waitFor("the postmaster to exit", async () => {
    try {
      process.kill(pid, 0);
      return undefined;
    } catch {
      return true;
    }
  });
}

describe("the server crashes right after a run (files commit without waiting for the disk; the run's last commit waits)", () => {
  // Small files, a no-transaction one among them, and one that fails in the second run.
  const files: SetFile[] = [
    { version: "10", name: "a", sql: "CREATE TABLE a (id int PRIMARY KEY, label text);\nINSERT INTO a VALUES (1, 'x');\n" },
    { version: "20", name: "b", sql: "CREATE TABLE b (id int PRIMARY KEY);\n" },
    { version: "30", name: "a_label", sql: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a_label_idx ON a (label);\n" },
    { version: "40", name: "c", sql: "CREATE TABLE c (id int PRIMARY KEY);\n" },
  ];
  const failing: SetFile = { version: "50", name: "broken", sql: "CREATE TABLE d (id int);\nSELECT 1 / 0;\n" };

  test("everything a run reported is still there after the crash, and the ledger matches the schema", async () => {
    const rootDir = await mkdtemp(path.join(os.tmpdir(), "fault-crash-"));
    const port = await freePort();
    // The WAL writer would flush asynchronous commits within 200 ms; 10 s keeps them in memory,
    // so only the migrator's own synchronous commit can have put them on disk.
    const settings = { wal_writer_delay: "10s", wal_writer_flush_after: "1GB" };
    let server = await startEmbedded({ rootDir, persistent: true, port, settings });
    try {
      await withTestClient(server.url("postgres"), (c) => c.query("CREATE DATABASE app"));
      const url = server.url("app");

      const ok = await migrateProcess(["apply", "--dir", await writeSet(files)], { DATABASE_URL: url });
      expect(ok.code, printed(ok)).toBe(0);
      await crash(server.dataDir);
      server = await startEmbedded({ rootDir, persistent: true, port, settings });
      expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["10:applied", "20:applied", "30:applied", "40:applied"]);
      for (const relation of ["a", "b", "a_label_idx", "c"]) expect(await relationExists(url, relation), relation).toBe(true);

      // A failed run: the files before the failure were reported applied, so they must survive too.
      const more: SetFile[] = [...files, { version: "45", name: "e", sql: "CREATE TABLE e (id int);\n" }, failing];
      const failed = await migrateProcess(["apply", "--dir", await writeSet(more)], { DATABASE_URL: url });
      expect(failed.code, printed(failed)).toBe(1);
      expect(failed.stderr).toMatch(/50_broken\/migration\.sql:2: division by zero/);
      await crash(server.dataDir);
      server = await startEmbedded({ rootDir, persistent: true, port, settings });
      expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["10", "20", "30", "40", "45"]);
      expect(await relationExists(url, "e")).toBe(true);
      expect(await relationExists(url, "d")).toBe(false);
    } finally {
      await server.stop().catch(() => {});
      await rm(rootDir, { recursive: true, force: true });
    }
  }, 180_000);
});
