/**
 * A database that cannot be reached, or stops answering, and a statement that runs too long:
 * clear errors, bounded waits, no hang; nothing half-applied.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { freePort, startEmbedded } from "../migrator/embedded/server.js";
import { migrateJson, migrateProcess, printed } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { signalServer, silentServer, startMigrator, waitForMigratorQuery, waitForNoMigratorSession } from "./support/faults.js";
import { ledgerRows, query, relationExists } from "./support/migrator-db.js";
import { removeSets, writeSet, type SetFile } from "./support/sets.js";

afterAll(removeSets);

const SET: SetFile[] = [
  { version: "1", name: "items", sql: "CREATE TABLE items (id int PRIMARY KEY);\n" },
  { version: "2", name: "slow", sql: "CREATE TABLE slow_done (id int);\nSELECT pg_sleep((SELECT seconds FROM fault_control));\n" },
];

describe("a network that fails", () => {
  test("a closed port: exit 1 at once with ECONNREFUSED and where it tried, nothing else", async () => {
    const dir = await writeSet(SET);
    const port = await freePort();
    const run = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: `postgresql://app:pw-never-shown@127.0.0.1:${port}/app` });
    expect(run.code, printed(run)).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`connecting to app@127\\.0\\.0\\.1:${port}/app failed: .*ECONNREFUSED`));
    expect(printed(run)).not.toContain("pw-never-shown");
  });

  test("a server that accepts and never answers: exit 1 after connect_timeout (URL or PGCONNECT_TIMEOUT) with what to check", async () => {
    const dir = await writeSet(SET);
    const silent = await silentServer();
    try {
      const viaUrl = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: `postgresql://app:pw@127.0.0.1:${silent.port}/app?connect_timeout=2` });
      expect(viaUrl.code, printed(viaUrl)).toBe(1);
      expect(viaUrl.stderr).toMatch(/connecting to app@127\.0\.0\.1:\d+\/app failed: .*timeout.*the server did not answer within 2s/);
      const viaEnv = await migrateProcess(["status", "--dir", dir], {
        PGHOST: "127.0.0.1",
        PGPORT: String(silent.port),
        PGUSER: "app",
        PGDATABASE: "app",
        PGCONNECT_TIMEOUT: "1",
      });
      expect(viaEnv.code, printed(viaEnv)).toBe(1);
      expect(viaEnv.stderr).toMatch(/the server did not answer within 1s/);
      // The migrator really reached the silent server (it did not fail for another reason).
      expect(silent.connections()).toBeGreaterThanOrEqual(2);
    } finally {
      await silent.close();
    }
  });

  test("a connect_timeout that is not a number is bad usage (exit 2), before any connection", async () => {
    const dir = await writeSet(SET);
    const run = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: "postgresql://app@127.0.0.1:1/app?connect_timeout=soon" });
    expect(run.code, printed(run)).toBe(2);
    expect(run.stderr).toMatch(/connect_timeout "soon" is not a whole number of seconds/);
  });
});

describe("a server that stops answering in the middle of a file (a dedicated server, frozen with SIGSTOP)", () => {
  test("exit 1 within a bound (two unanswered connect_timeouts), saying the server stopped answering; once it is back the file is rolled back and the rerun converges", async () => {
    const rootDir = await mkdtemp(path.join(os.tmpdir(), "fault-frozen-"));
    const server = await startEmbedded({ rootDir, persistent: false });
    const dataDir = path.join(rootDir, "pgdata");
    try {
      await withTestClient(server.url("postgres"), (c) => c.query("CREATE DATABASE app"));
      const url = server.url("app");
      await query(url, "CREATE TABLE fault_control (seconds float8 NOT NULL); INSERT INTO fault_control VALUES (300)");
      const dir = await writeSet(SET);
      const run = startMigrator(["apply", "--dir", dir], { DATABASE_URL: `${url}?connect_timeout=2` });
      await waitForMigratorQuery(url, "pg_sleep((SELECT seconds FROM fault_control))");
      signalServer(dataDir, "SIGSTOP");
      let done;
      try {
        done = await run.done;
      } finally {
        signalServer(dataDir, "SIGCONT");
      }
      expect(done.code, printed(done)).toBe(1);
      expect(done.stderr).toMatch(
        /2_slow\/migration\.sql:\d+: the server stopped answering: no reply to the running statement, and no answer to a new connection within 2s, twice/,
      );
      expect(done.stderr).toMatch(/the connection to the database was lost; run again once it is back/);
      // A generous bound, far below the 300s statement: about 10s are expected (a few intervals of 2s).
      expect(done.elapsedMs).toBeLessThan(90_000);

      // Thawed, the orphaned backend finds its client gone and rolls the file back.
      await waitForNoMigratorSession(url, 30_000);
      expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
      expect(await relationExists(url, "slow_done")).toBe(false);
      await query(url, "UPDATE fault_control SET seconds = 0");
      const rerun = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
      expect(rerun.code, printed(rerun)).toBe(0);
      expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2"]);
    } finally {
      signalServer(dataDir, "SIGCONT");
      await server.stop().catch(() => {});
      await rm(rootDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("statement_timeout exceeded", () => {
  test("exit 1 naming the file, SQLSTATE 57014 and the rollback; not retried; the rerun converges", async () => {
    const url = await freshDatabase("net");
    await query(url, "CREATE TABLE fault_control (seconds float8 NOT NULL); INSERT INTO fault_control VALUES (30)");
    const dir = await writeSet(SET);
    const run = await migrateJson(["apply", "--dir", dir, "--database-url", url, "--statement-timeout", "300ms"]);
    expect(run.code, printed(run)).toBe(1);
    // Which of the file's two statements ran too long is not looked for: a replay would hold the locks as long again.
    expect(run.json.error).toMatchObject({ file: "2_slow/migration.sql", sqlState: "57014", rolledBack: true });
    expect(run.json.error.message).toMatch(/canceling statement due to statement timeout/);
    expect(run.stderr).toMatch(/one of its 2 statements ran past statement_timeout/);
    expect(run.json.results.map((r: { version: string; attempts: number }) => `${r.version}:${r.attempts}`)).toEqual(["1:1"]);
    expect(run.stderr).not.toMatch(/retry/i);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1"]);
    expect(await relationExists(url, "slow_done")).toBe(false);

    await query(url, "UPDATE fault_control SET seconds = 0");
    const rerun = await migrateProcess(["apply", "--dir", dir, "--statement-timeout", "300ms"], { DATABASE_URL: url });
    expect(rerun.code, printed(rerun)).toBe(0);
    expect((await ledgerRows(url)).map((r) => r.version)).toEqual(["1", "2"]);
  });
});
