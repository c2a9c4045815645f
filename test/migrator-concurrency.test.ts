/**
 * Several migrators at once on one database, as real processes: the advisory lock lets one
 * apply at a time, the plan is made under the lock, so every file runs exactly once.
 */
import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { lockKey } from "../migrator/advisory-lock.js";
import { migrate, migrateProcess, printed } from "./support/cli.js";
import { freshDatabase } from "./support/database.js";
import { ledgerRows, query, relationExists } from "./support/migrator-db.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const SET: SetFile[] = [
  {
    version: "1",
    name: "runs",
    sql: "CREATE TABLE runs (version text NOT NULL, pid int NOT NULL DEFAULT pg_backend_pid());\nINSERT INTO runs (version) VALUES ('1');\n",
  },
  { version: "2", name: "slow", sql: "SELECT pg_sleep(1);\nINSERT INTO runs (version) VALUES ('2');\n" },
  { version: "3", name: "slow_notx", sql: "-- migrate:no-transaction\nINSERT INTO runs (version) SELECT '3' FROM pg_sleep(0.5);\n" },
  { version: "4", name: "tail", sql: "INSERT INTO runs (version) VALUES ('4');\n" },
];

const LOCK_MESSAGE = /another migrator holds the migration lock on this database \(pid \d+, user postgres, application "migrator"/;

describe("concurrent appliers", () => {
  test("four processes started at once: every file runs exactly once and every process exits 0", async () => {
    const url = await freshDatabase("conc");
    const dir = await writeSet(SET);
    const runs = await Promise.all([1, 2, 3, 4].map(() => migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url })));
    for (const run of runs) {
      expect(run.code, printed(run)).toBe(0);
    }
    // Exactly one process applied the files; the others found them applied.
    const appliers = runs.filter((r) => /Applied 4 migrations/.test(r.stdout));
    expect(appliers).toHaveLength(1);
    expect(runs.filter((r) => /Nothing pending: all 4 migrations are applied/.test(r.stdout))).toHaveLength(3);

    const applied = await query(url, "SELECT version, count(*)::int AS n, count(DISTINCT pid)::int AS sessions FROM runs GROUP BY version ORDER BY version");
    expect(applied).toEqual(["1", "2", "3", "4"].map((version) => ({ version, n: 1, sessions: 1 })));
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied", "3:applied", "4:applied"]);
  });

  test("four processes with a short --lock-wait: each exits 0 or gives up with the lock message; every file still runs exactly once", async () => {
    const url = await freshDatabase("conc");
    const dir = await writeSet(SET);
    const runs = await Promise.all([1, 2, 3, 4].map(() => migrateProcess(["apply", "--dir", dir, "--lock-wait", "200ms"], { DATABASE_URL: url })));
    for (const run of runs) {
      if (run.code === 0) continue;
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toMatch(LOCK_MESSAGE);
    }
    expect(runs.filter((r) => r.code === 0).length).toBeGreaterThanOrEqual(1);
    expect(runs.filter((r) => /Applied 4 migrations/.test(r.stdout))).toHaveLength(1);
    const applied = await query(url, "SELECT version, count(*)::int AS n FROM runs GROUP BY version ORDER BY version");
    expect(applied).toEqual(["1", "2", "3", "4"].map((version) => ({ version, n: 1 })));
    expect((await ledgerRows(url)).map((r) => `${r.version}:${r.status}`)).toEqual(["1:applied", "2:applied", "3:applied", "4:applied"]);
  });

  test("while another migrator holds the lock, --lock-wait gives up with exit 1 naming the holder, and applies nothing", async () => {
    const url = await freshDatabase("conc");
    const dir = await writeSet(SET);
    // The holder is a session holding the very advisory lock a migrator takes: no race on who starts first.
    const holder = new pg.Client({ connectionString: url, application_name: "migrator" });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [lockKey(DEFAULT_LEDGER).toString()]);
      const holderPid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      const others = await Promise.all([1, 2, 3].map(() => migrateProcess(["apply", "--dir", dir, "--lock-wait", "300ms"], { DATABASE_URL: url })));
      for (const run of others) {
        expect(run.code, printed(run)).toBe(1);
        expect(run.stderr).toMatch(LOCK_MESSAGE);
        expect(run.stderr).toContain(`(pid ${holderPid}, user postgres`);
        expect(run.stderr).toMatch(/Nothing was applied\. Wait for it to finish and run again, or raise --lock-wait/);
        expect(run.stdout).toMatch(/waiting for another migrator to finish \(pid \d+/);
      }
      expect(await relationExists(url, "runs")).toBe(false);
      expect(await relationExists(url, "migrator.applied_migrations")).toBe(false);
    } finally {
      await holder.end();
    }
    // The lock died with its session: the next migrator goes ahead.
    const after = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
    expect(after.code, printed(after)).toBe(0);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2", "3", "4"]);
  });

  test("the holder named is the one on this database: the same lock held on another database of the server is neither waited for nor named", async () => {
    const url = await freshDatabase("conc");
    const elsewhere = await freshDatabase("conc");
    const dir = await writeSet(SET);
    // Advisory locks belong to one database; pg_locks lists every database's.
    const other = new pg.Client({ connectionString: elsewhere, application_name: "migrator" });
    const holder = new pg.Client({ connectionString: url, application_name: "migrator" });
    await other.connect();
    await holder.connect();
    try {
      await other.query("SELECT pg_advisory_lock($1::bigint)", [lockKey(DEFAULT_LEDGER).toString()]);
      const otherPid = (await other.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [lockKey(DEFAULT_LEDGER).toString()]);
      const holderPid = (await holder.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      const run = await migrate(["apply", "--dir", dir, "--lock-wait", "300ms"], { DATABASE_URL: url });
      expect(run.code, printed(run)).toBe(1);
      expect(run.stderr).toContain(`(pid ${holderPid}, user postgres`);
      expect(run.stderr).not.toContain(`pid ${otherPid},`);
      await holder.end();
      // Only the other database's holder is left: this database's migrator goes ahead.
      const after = await migrate(["apply", "--dir", dir, "--lock-wait", "300ms"], { DATABASE_URL: url });
      expect(after.code, printed(after)).toBe(0);
    } finally {
      await holder.end().catch(() => undefined);
      await other.end();
    }
  });

  test("a migrator waiting for the lock says so, and goes ahead once it is released", async () => {
    const url = await freshDatabase("conc");
    const dir = await writeSet(SET);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [lockKey(DEFAULT_LEDGER).toString()]);
      const run = await migrate(["apply", "--database-url", url, "--dir", dir], {}, (text) => {
        if (/waiting for another migrator/.test(text)) void holder.query("SELECT pg_advisory_unlock_all()");
      });
      expect(run.code, printed(run)).toBe(0);
      expect(run.stdout).toMatch(/waiting for another migrator to finish \(pid \d+, user postgres/);
      expect(run.stdout).toMatch(/got the migration lock after \d+ ms/);
      expect(run.stdout).toMatch(/Applied 4 migrations/);
    } finally {
      await holder.end();
    }
  });
});
