import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import type { MigrationSet } from "./files.js";
import { readLedger, type LedgerLocation } from "./ledger.js";
import { UsageError } from "./errors.js";
import { loadParser, parseStatements } from "./statements.js";
import type { PrivilegeIntent } from "./privileges/intent.js";

/** One verification result: a row `(check, ok, detail)` of a `sql/verify` file. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** The verify file that produced it. */
  file: string;
}

export interface VerifyReport {
  checks: Check[];
  passed: number;
  failed: number;
}

export interface VerifyFile {
  file: string;
  sql: string;
}

export async function readVerifyFiles(dir: string): Promise<VerifyFile[]> {
  if (!existsSync(dir)) throw new UsageError(`verification folder ${dir} does not exist; name it with --verify-dir`);
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  if (names.length === 0) throw new UsageError(`verification folder ${dir} holds no .sql files; a verify that checks nothing would pass for nothing`);
  const files = await Promise.all(names.map(async (file) => ({ file, sql: (await readFile(path.join(dir, file), "utf8")).replace(/^\uFEFF/, "") })));
  await loadParser();
  for (const { file, sql } of files) {
    // A COMMIT in a check would end the read-only transaction the check runs in, and what
    // followed it would be committed. (A syntax error is left to fail as that check, at run time.)
    const parsed = parseStatements(sql.replace(/\r\n/g, "\n"));
    const control = "statements" in parsed ? parsed.statements.find((s) => s.transactionControl) : undefined;
    if (control) {
      throw new UsageError(
        `${path.join(dir, file)}:${control.line}: ${control.transactionControl} in a verification query; checks run read-only in a transaction that is rolled back, so remove it`,
      );
    }
  }
  return files;
}

/**
 * The caller's privilege intent as two session-private tables (empty without one), so
 * 15_table_privileges.sql compares the database with it: `privilege_scope` the schemas it covers
 * and their tables' owner, `privilege_intent` one row per rule (table NULL: the whole schema).
 */
async function preparePrivilegeIntent(client: pg.ClientBase, intent: PrivilegeIntent | undefined): Promise<void> {
  await client.query(`
    DROP TABLE IF EXISTS pg_temp.privilege_scope;
    DROP TABLE IF EXISTS pg_temp.privilege_intent;
    CREATE TEMP TABLE privilege_scope (schema_name text, owner text);
    CREATE TEMP TABLE privilege_intent (role text, schema_name text, table_name text, privileges text[]);`);
  if (!intent) return;
  await client.query(`INSERT INTO pg_temp.privilege_scope SELECT s, $2 FROM unnest($1::text[]) AS s`, [intent.schemas, intent.owner]);
  for (const g of intent.grants) {
    await client.query(`INSERT INTO pg_temp.privilege_intent VALUES ($1, $2, $3, $4::text[])`, [g.role, g.schema, g.table ?? null, g.privileges]);
  }
}

/**
 * What the checks may read besides the catalog: the files on disk and the ledger, as
 * session-private relations, so checks never hard-code where the ledger lives.
 */
async function prepareSession(client: pg.ClientBase, set: MigrationSet, ledger: LedgerLocation, intent: PrivilegeIntent | undefined): Promise<void> {
  await preparePrivilegeIntent(client, intent);
  await client.query(`
    DROP TABLE IF EXISTS pg_temp.migration_files;
    CREATE TEMP TABLE migration_files (folder text, version text, name text, checksum text, transactional boolean);
    DROP VIEW IF EXISTS pg_temp.migration_ledger;
    DROP TABLE IF EXISTS pg_temp.migration_ledger;
    CREATE TEMP TABLE migration_ledger (folder text, version text, name text, checksum text, transactional boolean,
      status text, applied_at timestamptz, duration_ms integer, applied_by text);`);
  await client.query(`INSERT INTO pg_temp.migration_files SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[])`, [
    set.files.map((f) => f.folder),
    set.files.map((f) => f.version),
    set.files.map((f) => f.name),
    set.files.map((f) => f.checksum),
    set.files.map((f) => f.transactional),
  ]);
  // Read as the planner reads it (a version-keyed ledger named by the folders it meant), so the
  // checks and `apply` never disagree on which file a row is.
  const rows = await readLedger(client, ledger, set);
  await client.query(
    `INSERT INTO pg_temp.migration_ledger
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::timestamptz[], $8::int[], $9::text[])`,
    [
      rows.map((r) => r.folder),
      rows.map((r) => r.version),
      rows.map((r) => r.name),
      rows.map((r) => r.checksum),
      rows.map((r) => r.transactional),
      rows.map((r) => r.status),
      rows.map((r) => r.appliedAt),
      rows.map((r) => r.durationMs),
      rows.map((r) => r.appliedBy),
    ],
  );
}

/**
 * Runs every check file in a read-only transaction that is rolled back, so verifying can
 * never change the database. A file that errors or returns no rows is a failed check.
 */
export async function verify(client: pg.ClientBase, set: MigrationSet, files: VerifyFile[], ledger: LedgerLocation, intent?: PrivilegeIntent): Promise<VerifyReport> {
  await prepareSession(client, set, ledger, intent);
  const checks: Check[] = [];
  for (const { file, sql } of files) {
    await client.query("BEGIN READ ONLY");
    try {
      const result = await client.query(sql);
      const rows = (Array.isArray(result) ? result.at(-1)?.rows : result.rows) ?? [];
      if (rows.length === 0) {
        checks.push({ name: file.replace(/\.sql$/, ""), ok: false, detail: "the check returned no rows; a check must always return its verdict", file });
      }
      for (const row of rows) {
        if (!("check" in row) || !("ok" in row)) {
          checks.push({ name: file, ok: false, detail: 'rows must have columns "check", ok and detail', file });
          break;
        }
        checks.push({ name: String(row.check), ok: row.ok === true, detail: row.detail === null || row.detail === undefined ? "" : String(row.detail), file });
      }
    } catch (error) {
      checks.push({ name: file.replace(/\.sql$/, ""), ok: false, detail: `the check itself failed: ${(error as Error).message}`, file });
    } finally {
      await client.query("ROLLBACK").catch(() => {});
    }
  }
  const passed = checks.filter((c) => c.ok).length;
  return { checks, passed, failed: checks.length - passed };
}
