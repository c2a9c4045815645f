/**
 * The review's lock table against what PostgreSQL 17 really takes, for the seed set
 * (sql/migrations), on the test run's embedded server: each file is run after the files before it,
 * and pg_locks (relation locks of the migrating backend on tables, by table and mode) is compared
 * with the review's claims statement by statement:
 *   (a) every lock the review claims is held once the statement has run;
 *   (b) every lock the statement added is claimed, or blocks no more than a lock claimed on the
 *       same table (e.g. the ACCESS SHARE a foreign-key check query takes beside SHARE ROW EXCLUSIVE).
 * Transactional files run in one transaction, as the migrator runs them. A CREATE INDEX CONCURRENTLY
 * cannot run in a transaction, so it is observed from a second session while it waits for a
 * writer's open transaction (its lock is held by then), and its non-concurrent twin is run in a
 * transaction that is rolled back, to show the difference the review names.
 */
import pg from "pg";
import { beforeAll, describe, expect, test } from "vitest";
import { readMigrationSet, type MigrationSet } from "../migrator/files.js";
import { covers, setLocks, statementLocks, type LockMode, type TableLock } from "../migrator/table-locks.js";
import { PROJECT_ROOT } from "../migrator/root.js";
import { PG_LOCK_MODES } from "../migrator/rehearse-locks.js";
import { freshDatabase } from "./support/database.js";
import path from "node:path";

/** Relation locks on tables (not indexes, sequences or catalogs) that backend `pid` holds, as "table|MODE". */
async function heldBy(client: pg.Client, pid: number): Promise<Set<string>> {
  // Read in the migrating session itself when it is that session: tables it created are not yet visible to others.
  const { rows } = await client.query<{ relname: string; mode: string }>(
    `SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
    [pid],
  );
  return new Set(rows.map((r) => `${r.relname}|${PG_LOCK_MODES[r.mode] ?? r.mode}`));
}

/** What (a) and (b) above find wrong for one statement; empty when the review is right. */
function disagreements(where: string, claimed: TableLock[], before: Set<string>, after: Set<string>): string[] {
  const wrong: string[] = [];
  const named = claimed.filter((l) => l.table);
  for (const l of named) {
    if (!after.has(`${l.table!.name}|${l.mode}`)) wrong.push(`${where}: claims ${l.mode} on ${l.table!.name}, not held (held: ${[...after].join(", ")})`);
  }
  for (const got of after) {
    if (before.has(got)) continue;
    const [table, mode] = got.split("|") as [string, LockMode];
    if (!named.some((l) => l.table!.name === table && covers(l.mode, mode))) wrong.push(`${where}: takes ${mode} on ${table}, which the review does not claim`);
  }
  return wrong;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

let set: MigrationSet;
beforeAll(async () => {
  set = await readMigrationSet(path.join(PROJECT_ROOT, "sql/migrations"));
});

describe("the review's lock claims for the seed set, against pg_locks on PostgreSQL 17", () => {
  test("every transactional file, statement by statement, in one transaction after the files before it", async () => {
    const url = await freshDatabase("locks");
    const claims = setLocks(set.files);
    const client = await connect(url);
    const wrong: string[] = [];
    let checked = 0;
    try {
      const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      for (const [i, file] of set.files.entries()) {
        if (!file.transactional) {
          await client.query(file.statements.map((s) => s.sql).join(";\n"));
          continue;
        }
        await client.query("BEGIN");
        for (const [j, statement] of file.statements.entries()) {
          const before = await heldBy(client, pid);
          await client.query(statement.sql);
          const after = await heldBy(client, pid);
          const claim = claims[i]!.statements[j]!;
          expect(claim.locks.unknown, `${file.relativePath}:${statement.line}`).toBeUndefined();
          wrong.push(...disagreements(`${file.relativePath}:${statement.line}`, claim.locks.locks, before, after));
          checked++;
        }
        await client.query("COMMIT");
      }
    } finally {
      await client.end();
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe(set.files.filter((f) => f.transactional).reduce((n, f) => n + f.statements.length, 0));
  });

  test("every CREATE INDEX CONCURRENTLY, observed from a second session while it waits; its non-concurrent twin in a rolled-back transaction", async () => {
    const url = await freshDatabase("locks_cic");
    const claims = setLocks(set.files);
    const [migrator, writer, observer] = await Promise.all([connect(url), connect(url), connect(url)]);
    const wrong: string[] = [];
    const observed: string[] = [];
    try {
      const pid = (await migrator.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      for (const [i, file] of set.files.entries()) {
        if (file.transactional) {
          await migrator.query(file.statements.map((s) => s.sql).join(";\n"));
          continue;
        }
        const statement = file.statements.find((s) => s.index?.concurrent)!;
        expect(statement, file.relativePath).toBeDefined();
        const table = statement.index!.table;

        // The twin: the same statement without CONCURRENTLY takes SHARE, which the review says of it.
        const twin = statement.sql.replace(/\bCONCURRENTLY\s+/i, "");
        await migrator.query("BEGIN");
        await migrator.query(twin);
        wrong.push(...disagreements(`${file.relativePath} (without CONCURRENTLY)`, statementLocks(twin).locks, new Set(), await heldBy(migrator, pid)));
        await migrator.query("ROLLBACK");

        // A writer's transaction is open on the table: the concurrent build takes its lock, then waits for it.
        await writer.query("BEGIN");
        await writer.query(`LOCK TABLE "${table}" IN ROW EXCLUSIVE MODE`);
        const build = migrator.query(statement.sql);
        let held = new Set<string>();
        for (let waited = 0; waited < 10_000; waited += 20) {
          const waiting = await observer.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [pid]);
          if (waiting.rowCount) {
            held = await heldBy(observer, pid);
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        await writer.query("COMMIT");
        await build;
        expect(held.size, `${file.relativePath}: the build was never seen waiting`).toBeGreaterThan(0);
        observed.push(`${file.folder}: ${[...held].sort().join(", ")}`);
        wrong.push(...disagreements(file.relativePath, claims[i]!.statements.find((s) => s.line === statement.line)!.locks.locks, new Set(), held));
      }
    } finally {
      await Promise.all([migrator.end(), writer.end(), observer.end()]);
    }
    expect(wrong).toEqual([]);
    expect(observed).toHaveLength(set.files.filter((f) => !f.transactional).length);
    // Reads and writes go on beside this mode: the reason the set builds its indexes this way.
    expect(observed.filter((o) => !/^[^:]+: [^,|]+\|SHARE UPDATE EXCLUSIVE$/.test(o))).toEqual([]);
  });
});
