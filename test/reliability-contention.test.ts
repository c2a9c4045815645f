/**
 * Contention on a live database: application traffic holding a table the next file alters, and
 * several migrator processes at once on the real seed set.
 */
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { migrateProcess, printed, ROOT } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { migratorBackend, startMigrator, waitFor, type MigratorProcess } from "./support/faults.js";
import { ledgerRows, query } from "./support/migrator-db.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const SET: SetFile[] = [
  {
    version: "1",
    name: "accounts",
    sql: "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL DEFAULT 0);\nINSERT INTO accounts SELECT g FROM generate_series(1, 100) g;\n",
  },
  { version: "2", name: "add_note", sql: "ALTER TABLE accounts ADD COLUMN note text;\n" },
];

async function connect(url: string, application: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: application });
  await client.connect();
  return client;
}

/**
 * While `run` lasts, an application session keeps reading the table; each read that starts while
 * the migrator's ALTER is queued is measured, and whether it really queued behind the migrator.
 */
async function measureAppReads(url: string, run: MigratorProcess): Promise<{ waitsMs: number[]; blockedByMigrator: number }> {
  const reader = await connect(url, "app-reader");
  const watcher = await connect(url, "app-watcher");
  const readerPid = (await reader.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  let finished = false;
  void run.done.then(() => (finished = true));
  const waitsMs: number[] = [];
  let blockedByMigrator = 0;
  try {
    while (!finished) {
      const queued = await migratorBackend(url, "ALTER TABLE accounts");
      if (!queued || queued.waitEventType !== "Lock") {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const started = performance.now();
      let done = false;
      const read = reader.query("SELECT count(*) FROM accounts").finally(() => (done = true));
      let blocked = false;
      while (!done) {
        const { rows } = await watcher.query("SELECT $2::int = ANY (pg_blocking_pids($1)) AS blocked", [readerPid, queued.pid]);
        if (rows[0].blocked) blocked = true;
        await new Promise((r) => setTimeout(r, 20));
      }
      await read;
      waitsMs.push(performance.now() - started);
      if (blocked) blockedByMigrator++;
    }
  } finally {
    await reader.end();
    await watcher.end();
  }
  return { waitsMs, blockedByMigrator };
}

describe("lock contention from application traffic", () => {
  test("a long application transaction on the table: other sessions wait at most about lock_timeout, the migrator retries within its bound, then fails clearly; the rerun converges", async () => {
    const url = await freshDatabase("cont");
    const dir = await writeSet(SET);
    expect((await migrateProcess(["apply", "--dir", dir, "--only", "1"], { DATABASE_URL: url })).code).toBe(0);

    // The application's long transaction: it read the table and stays open for the whole run.
    const app = await connect(url, "app-long-transaction");
    await app.query("BEGIN; SELECT count(*) FROM accounts");
    let run: MigratorProcess;
    let reads: { waitsMs: number[]; blockedByMigrator: number };
    try {
      // Bound: 6 attempts of 300ms and pauses of 200+400+800+1600+3200ms (+-25%): about 8s, under 10s.
      run = startMigrator(["apply", "--dir", dir, "--lock-timeout", "300ms", "--lock-retries", "5", "--retry-delay", "200ms"], { DATABASE_URL: url });
      reads = await measureAppReads(url, run);
    } finally {
      await app.query("ROLLBACK");
      await app.end();
    }
    const failed = await run.done;

    // The reads really queued behind the migrator's ALTER, and none waited long: a lock request
    // that never timed out would have held them for as long as the application transaction.
    expect(reads.blockedByMigrator, `waits: ${reads.waitsMs.map(Math.round).join(", ")}ms`).toBeGreaterThanOrEqual(1);
    expect(Math.max(...reads.waitsMs)).toBeLessThan(3_000);

    expect(failed.code, printed(failed)).toBe(1);
    expect(failed.stderr).toMatch(/2_add_note\/migration\.sql:1: canceling statement due to lock timeout \(SQLSTATE 55P03\)/);
    expect(failed.stderr).toMatch(
      /could not get its lock within lock_timeout, 6 attempts; blocked by pid \d+ \("app-long-transaction"\) holds AccessShareLock on accounts/,
    );
    expect(failed.stderr).toMatch(/Run again when that transaction has finished, or raise --lock-timeout \/ --lock-retries/);
    expect((failed.stdout + failed.stderr).match(/retry/gi)?.length).toBeGreaterThanOrEqual(5);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
    expect(await query(url, `SELECT 1 FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'`)).toEqual([]);

    const rerun = await migrateProcess(["apply", "--dir", dir, "--lock-timeout", "300ms"], { DATABASE_URL: url });
    expect(rerun.code, printed(rerun)).toBe(0);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2"]);
  }, 120_000);

  test("the control: with lock_timeout 0 the queued ALTER holds every other reader for as long as the application transaction lasts", async () => {
    const url = await freshDatabase("cont");
    const dir = await writeSet(SET);
    expect((await migrateProcess(["apply", "--dir", dir, "--only", "1"], { DATABASE_URL: url })).code).toBe(0);
    const app = await connect(url, "app-long-transaction");
    const reader = await connect(url, "app-reader");
    try {
      await app.query("BEGIN; SELECT count(*) FROM accounts");
      const run = startMigrator(["apply", "--dir", dir, "--lock-timeout", "0"], { DATABASE_URL: url });
      await waitFor("the ALTER to queue", async () => ((await migratorBackend(url, "ALTER TABLE accounts"))?.waitEventType === "Lock" ? true : undefined));
      const started = performance.now();
      const read = reader.query("SELECT count(*) FROM accounts");
      await new Promise((r) => setTimeout(r, 3_500));
      await app.query("ROLLBACK");
      await read;
      // A lower bound, so a slow machine cannot break it: the read waited until the release.
      expect(performance.now() - started).toBeGreaterThanOrEqual(3_500);
      const done = await run.done;
      expect(done.code, printed(done)).toBe(0);
    } finally {
      await app.query("ROLLBACK").catch(() => {});
      await app.end();
      await reader.end();
    }
  }, 60_000);

  test("the blocker ends during the retries: the migrator applies the file on a later attempt", async () => {
    const url = await freshDatabase("cont");
    const dir = await writeSet(SET);
    expect((await migrateProcess(["apply", "--dir", dir, "--only", "1"], { DATABASE_URL: url })).code).toBe(0);
    const app = await connect(url, "app-long-transaction");
    await app.query("BEGIN; SELECT count(*) FROM accounts");
    const run = startMigrator(["apply", "--dir", dir, "--json", "--lock-timeout", "300ms", "--lock-retries", "10", "--retry-delay", "200ms"], { DATABASE_URL: url });
    await waitFor("a lock-timeout retry", async () => (/retry/i.test(run.output()) ? true : undefined));
    await app.query("ROLLBACK");
    await app.end();
    const done = await run.done;
    expect(done.code, printed(done)).toBe(0);
    const result = JSON.parse(done.stdout).results.find((r: { version: string }) => r.version === "2");
    expect(result.attempts).toBeGreaterThanOrEqual(2);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2"]);
  }, 60_000);
});

describe("several migrator processes at once on the seed set (sql/migrations)", () => {
  test("every file is applied exactly once; one process applies, the others wait and find nothing pending, or stop with the lock message", async () => {
    const url = await freshDatabase("seedconc");
    const migrations = path.join(ROOT, "sql", "migrations");
    const runs = await Promise.all([
      migrateProcess(["apply", "--dir", migrations], { DATABASE_URL: url }),
      migrateProcess(["apply", "--dir", migrations], { DATABASE_URL: url }),
      migrateProcess(["apply", "--dir", migrations, "--lock-wait", "100ms"], { DATABASE_URL: url }),
    ]);
    const appliers = runs.filter((r) => /Applied 20 migrations/.test(r.stdout));
    expect(appliers, runs.map(printed).join("\n---\n")).toHaveLength(1);
    for (const run of runs) {
      if (run.code === 0) {
        expect(run.stdout).toMatch(/Applied 20 migrations|Nothing pending: all 20 migrations are applied/);
      } else {
        expect(run.code, printed(run)).toBe(1);
        expect(run.stderr).toMatch(/another migrator holds the migration lock on this database \(pid \d+, user postgres, application "migrator".*Nothing was applied/s);
      }
    }
    const rows = await ledgerRows(url);
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.version)).size).toBe(20);
    expect(rows.every((r) => r.status === "applied")).toBe(true);
    // Every row written by one session, in one run: the same client, the same minute.
    const appliedIn = await query(url, "SELECT count(DISTINCT applied_by)::int AS roles FROM migrator.applied_migrations");
    expect(appliedIn).toEqual([{ roles: 1 }]);
  }, 180_000);
});
