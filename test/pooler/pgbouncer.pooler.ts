/**
 * The migrator behind a real PgBouncer (Debian's package), started by the tests in front of the
 * run's embedded PostgreSQL. A transaction- or statement-pooled connection is refused before the
 * migration lock with exit 2 and nothing done; a session-pooled one is pinned to one backend, so
 * `apply` works there with every guarantee: the lock, the ledger, the per-file settings.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { inject } from "vitest";
import { lockKey } from "../../migrator/advisory-lock.js";
import { DEFAULT_LEDGER } from "../../migrator/ledger.js";
import { migrateProcess, printed, type CliRun } from "../support/cli.js";
import { freshDatabase } from "../support/database.js";
import { ledgerRows, query, relationExists } from "../support/migrator-db.js";
import { startPgBouncer, type PgBouncer, type PoolMode } from "../support/pgbouncer.js";
import { removeSets, writeSet, type SetFile } from "../support/sets.js";

afterAll(removeSets);

/** Each file notes the backend it ran on and the lock_timeout it ran under. */
const SET: SetFile[] = [
  {
    version: "1",
    name: "seen",
    sql: "CREATE TABLE seen (version text NOT NULL, lock_timeout text NOT NULL, pid int NOT NULL);\nINSERT INTO seen VALUES ('1', current_setting('lock_timeout'), pg_backend_pid());\n",
  },
  { version: "2", name: "index", sql: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY seen_pid ON seen (pid);\n" },
  { version: "3", name: "slow", sql: "INSERT INTO seen SELECT '3', current_setting('lock_timeout'), pg_backend_pid() FROM pg_sleep(2);\n" },
];

const REFUSED = /this connection is not pinned to one server session: .+ Nothing was done\./;
const LOCK_MESSAGE = /another migrator holds the migration lock on this database/;

/** The pid holding the migration lock, seen from a direct connection; undefined when nobody does. */
async function lockHolder(directUrl: string): Promise<number | undefined> {
  const key = BigInt.asUintN(64, lockKey(DEFAULT_LEDGER));
  const rows = await query<{ pid: number }>(
    directUrl,
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1`,
    [(key >> 32n).toString(), (key & 0xffffffffn).toString()],
  );
  return rows[0]?.pid;
}

/** A database on the test server, reached directly (for the assertions) and through the pooler (for the migrator). */
async function databaseBehind(bouncer: PgBouncer): Promise<{ direct: string; pooled: string }> {
  const direct = await freshDatabase("pgb");
  return { direct, pooled: bouncer.url(new URL(direct).pathname.slice(1)) };
}

/** Asserts nothing of the set or the migrator reached the database: no ledger, no schema, no table, no lock left. */
async function expectUntouched(direct: string): Promise<void> {
  expect(await relationExists(direct, "migrator.applied_migrations")).toBe(false);
  expect(await query(direct, "SELECT 1 FROM pg_namespace WHERE nspname = 'migrator'")).toEqual([]);
  expect(await relationExists(direct, "seen")).toBe(false);
  expect(await lockHolder(direct)).toBeUndefined();
}

function expectRefusal(run: CliRun): void {
  expect(run.code, printed(run)).toBe(2);
  expect(run.stderr).toMatch(REFUSED);
  // Why, and what to use instead.
  expect(run.stderr).toMatch(/migration lock \(a session advisory lock\)/);
  expect(run.stderr).toMatch(/SET lock_timeout/);
  expect(run.stderr).toMatch(/CREATE INDEX CONCURRENTLY/);
  expect(run.stderr).toMatch(/direct endpoint .*`database\.endpoint`.*pulumi stack output database/);
  expect(run.stdout).not.toMatch(/Applied|applied/);
}

const POOLED: { mode: PoolMode; poolSize: number; why: string }[] = [
  // One server connection: an idle pool hands the same backend back, so pid and setting alone would look pinned.
  { mode: "transaction", poolSize: 1, why: "one backend" },
  { mode: "transaction", poolSize: 5, why: "several backends" },
  { mode: "statement", poolSize: 5, why: "several backends" },
];

describe.each(POOLED)("PgBouncer pool_mode=$mode, $why: refused before anything runs", ({ mode, poolSize }) => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ serverUrl: inject("serverUrl"), mode, poolSize });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  test("apply exits 2 with one message saying why and what to use instead; no ledger, nothing applied", async () => {
    const { direct, pooled } = await databaseBehind(bouncer);
    const dir = await writeSet(SET);
    const run = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: pooled });
    expectRefusal(run);
    // One message: the refusal is the only error line.
    expect(run.stderr.match(/^error: /gm), printed(run)).toHaveLength(1);
    await expectUntouched(direct);
  });

  test("apply --json says so as data, and drift (also under the lock) is refused the same way", async () => {
    const { direct, pooled } = await databaseBehind(bouncer);
    const dir = await writeSet(SET);
    const json = await migrateProcess(["apply", "--dir", dir, "--json"], { DATABASE_URL: pooled });
    expect(json.code, printed(json)).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ kind: "PooledConnectionError", message: expect.stringMatching(REFUSED) });
    const drift = await migrateProcess(["drift", "--dir", dir], { DATABASE_URL: pooled });
    expect(drift.code, printed(drift)).toBe(2);
    expect(drift.stderr).toMatch(REFUSED);
    await expectUntouched(direct);
  });

  test("plan and status, which take no lock and change nothing, still answer through the pooler", async () => {
    const { pooled } = await databaseBehind(bouncer);
    const dir = await writeSet(SET);
    const plan = await migrateProcess(["plan", "--dir", dir], { DATABASE_URL: pooled });
    expect(plan.code, printed(plan)).toBe(0);
    expect(plan.stdout).toMatch(/1_seen/);
    const status = await migrateProcess(["status", "--dir", dir], { DATABASE_URL: pooled });
    expect(status.code, printed(status)).toBe(0);
  });
});

describe("PgBouncer pool_mode=session: the session is pinned, so apply works with every guarantee", () => {
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ serverUrl: inject("serverUrl"), mode: "session" });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  test("apply applies every file on one backend under its lock_timeout, records each in the ledger, and says nothing of the guard", async () => {
    const { direct, pooled } = await databaseBehind(bouncer);
    const dir = await writeSet(SET);
    const run = await migrateProcess(["apply", "--dir", dir, "--lock-timeout", "7s"], { DATABASE_URL: pooled });
    expect(run.code, printed(run)).toBe(0);
    expect(run.stdout).toMatch(/Applied 3 migrations/);
    expect(printed(run)).not.toMatch(/pinned|pooler|pooling|probe/i);
    const seen = await query<{ version: string; lock_timeout: string; pid: number }>(direct, "SELECT version, lock_timeout, pid FROM seen ORDER BY version");
    expect(seen.map((r) => `${r.version}:${r.lock_timeout}`)).toEqual(["1:7s", "3:7s"]);
    expect(new Set(seen.map((r) => r.pid)).size).toBe(1);
    expect(await query(direct, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'seen_pid'::regclass")).toEqual([{ indisvalid: true }]);
    expect((await ledgerRows(direct)).map((r) => `${r.version}:${r.status}:${r.transactional}`)).toEqual(["1:applied:true", "2:applied:false", "3:applied:true"]);
    expect(await lockHolder(direct)).toBeUndefined();

    const again = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: pooled });
    expect(again.code, printed(again)).toBe(0);
    expect(again.stdout).toMatch(/Nothing pending: all 3 migrations are applied/);
  });

  test("the migration lock is held by the backend that runs the files; a second migrator through the pooler waits for it and gives up", async () => {
    const { direct, pooled } = await databaseBehind(bouncer);
    const dir = await writeSet(SET);
    const first = migrateProcess(["apply", "--dir", dir], { DATABASE_URL: pooled });
    // Wait for the slow file: the lock is held, and the table exists.
    let holder: number | undefined;
    for (let i = 0; i < 200 && holder === undefined; i++) {
      if (await relationExists(direct, "seen")) holder = await lockHolder(direct);
      if (holder === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(holder).toBeDefined();
    const second = await migrateProcess(["apply", "--dir", dir, "--lock-wait", "300ms"], { DATABASE_URL: pooled });
    expect(second.code, printed(second)).toBe(1);
    expect(second.stderr).toMatch(LOCK_MESSAGE);
    const done = await first;
    expect(done.code, printed(done)).toBe(0);
    const pids = await query<{ pid: number }>(direct, "SELECT DISTINCT pid FROM seen");
    expect(pids).toEqual([{ pid: holder }]);
    expect(await lockHolder(direct)).toBeUndefined();
    expect((await ledgerRows(direct)).map((r) => r.version)).toEqual(["1", "2", "3"]);
  });

  test("a statement that outlasts the connection watchdog's interval is not taken for a lost session (the pooler's made-up backend key is no pid)", async () => {
    const { direct, pooled } = await databaseBehind(bouncer);
    const dir = await writeSet([{ version: "1", name: "long", sql: "CREATE TABLE long AS SELECT 1 AS done FROM pg_sleep(3.5);\n" }]);
    // connect_timeout=1: the watchdog asks after every second a statement runs.
    const run = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: `${pooled}?connect_timeout=1` });
    expect(run.code, printed(run)).toBe(0);
    expect((await ledgerRows(direct)).map((r) => r.version)).toEqual(["1"]);
  });

  test("four migrators at once through the pooler: every file runs exactly once and every one exits 0", async () => {
    const { direct, pooled } = await databaseBehind(bouncer);
    const dir = await writeSet(SET);
    const runs = await Promise.all([1, 2, 3, 4].map(() => migrateProcess(["apply", "--dir", dir], { DATABASE_URL: pooled })));
    for (const run of runs) expect(run.code, printed(run)).toBe(0);
    expect(runs.filter((r) => /Applied 3 migrations/.test(r.stdout))).toHaveLength(1);
    expect(await query(direct, "SELECT version, count(*)::int AS n FROM seen GROUP BY version ORDER BY version")).toEqual([
      { version: "1", n: 1 },
      { version: "3", n: 1 },
    ]);
    expect((await ledgerRows(direct)).map((r) => r.version)).toEqual(["1", "2", "3"]);
  });
});
