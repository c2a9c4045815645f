/**
 * A real Prisma history, as exported from its repository, against the two ways it is applied
 * elsewhere: Prisma's (each migration.sql as one simple query, prisma-engines
 * schema-engine/connectors/sql-schema-connector/src/flavour/postgres/connection.rs `raw_cmd`) and
 * psql's (`psql -v ON_ERROR_STOP=1 -f`, statement by statement). Applies the folder with the
 * migrator on one fresh database and each reference on another, then compares the catalogs (the
 * drift fingerprint) and every table's rows, and reruns the migrator to see it do nothing.
 *
 *   npx tsx bench/real-history.ts <migrations folder>
 *
 * Exit 0 when all three agree and the rerun is a no-op; 1 with each difference named. psql is
 * used when it is on PATH (Debian: postgresql-client); without it that column says so.
 */
import { execFile } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import { changeLine, diffCatalogs, takeCatalog, type NormalisedCatalog } from "../migrator/catalog/index.js";
import { DEFAULT_LEDGER } from "../migrator/ledger.js";
import { ROOT, startBenchServer, type BenchServer } from "./server.js";

const run = promisify(execFile);

async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

async function asPrisma(server: BenchServer, database: string, dir: string, names: string[]): Promise<void> {
  await server.query(async (client) => {
    for (const name of names) {
      const text = await readFile(path.join(dir, name, "migration.sql"), "utf8");
      if (text.trim() === "") continue;
      try {
        await client.query(text);
      } catch (error) {
        throw new Error(`Prisma's way: ${name}: ${(error as Error).message}`, { cause: error });
      }
    }
  }, database);
}

async function asPsql(url: string, dir: string, names: string[]): Promise<void> {
  for (const name of names) {
    try {
      await run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", path.join(dir, name, "migration.sql")], { maxBuffer: 64 * 1024 * 1024 });
    } catch (error) {
      throw new Error(`psql: ${name}: ${(error as { stderr?: string }).stderr?.trim() ?? (error as Error).message}`, { cause: error });
    }
  }
}

async function hasPsql(): Promise<boolean> {
  return run("psql", ["--version"]).then(
    () => true,
    () => false,
  );
}

type Columns = Record<string, string[]>;

/** Every user table and its columns (the ledger's own schema left out). */
async function userColumns(client: pg.Client): Promise<Columns> {
  const { rows } = await client.query<{ name: string; column: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, format('%I', a.attname) AS column
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', $1) AND n.nspname NOT LIKE 'pg_toast%'
      ORDER BY 1, a.attnum`,
    [DEFAULT_LEDGER.schema],
  );
  const out: Columns = {};
  for (const r of rows) (out[r.name] ??= []).push(r.column);
  return out;
}

/** Each column's values as one digest (sorted, so row order does not count): what tells a volatile column. */
async function columnDigests(client: pg.Client, columns: Columns): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, cols] of Object.entries(columns)) {
    const list = cols.map((c) => `md5(string_agg(${c}::text, E'\\n' ORDER BY ${c}::text)) AS ${c}`).join(", ");
    const { rows } = await client.query<Record<string, string | null>>(`SELECT ${list} FROM ${table}`);
    for (const c of cols) out[`${table}.${c}`] = rows[0]![c.replace(/^"|"$/g, "").replace(/""/g, '"')] ?? "-";
  }
  return out;
}

/** Every table's rows over its stable columns, as one digest per table. */
async function rowDigests(client: pg.Client, columns: Columns, volatile: ReadonlySet<string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [table, cols] of Object.entries(columns)) {
    const stable = cols.filter((c) => !volatile.has(`${table}.${c}`));
    const row = stable.length > 0 ? `ROW(${stable.join(", ")})::text` : "''";
    const { rows } = await client.query<{ digest: string | null; n: string }>(
      `SELECT md5(string_agg(${row}, E'\\n' ORDER BY ${row})) AS digest, count(*) AS n FROM ${table}`,
    );
    out[table] = `${rows[0]!.n} rows ${rows[0]!.digest ?? "-"}`;
  }
  return out;
}

function compare(label: string, ours: NormalisedCatalog, theirs: NormalisedCatalog, ourRows: Record<string, string>, theirRows: Record<string, string>): string[] {
  const problems = diffCatalogs(theirs, ours).map((d) => `${label}: schema: ${changeLine(d)}`);
  for (const table of new Set([...Object.keys(ourRows), ...Object.keys(theirRows)])) {
    if (ourRows[table] !== theirRows[table])
      problems.push(`${label}: data of ${table}: migrator ${ourRows[table] ?? "(none)"}, ${label} ${theirRows[table] ?? "(none)"}`);
  }
  return problems;
}

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir || dir === "--help" || dir === "-h") {
    console.log("usage: npx tsx bench/real-history.ts <migrations folder>   (a Prisma prisma/migrations folder, unchanged)");
    process.exit(dir ? 0 : 2);
  }
  const names = await folders(path.resolve(dir));
  const withPsql = await hasPsql();
  console.log(`${names.length} folders in ${dir}; references: Prisma's way${withPsql ? ", psql" : " (psql is not on PATH: no psql column)"}`);
  const server = await startBenchServer();
  try {
    for (const db of ["ours", "prisma", "prisma_again", "psql"]) await server.createDatabase(db);
    const cli = path.join(ROOT, "dist", "migrate.js");
    const [applied, ourSeconds] = await timed(() =>
      run(process.execPath, [cli, "apply", "--dir", path.resolve(dir), "--database-url", server.url("ours")], { maxBuffer: 64 * 1024 * 1024 }).catch((e) => e),
    );
    if (applied instanceof Error) {
      console.log(`migrator: apply failed:\n${(applied as { stderr?: string }).stderr ?? applied.message}`);
      process.exitCode = 1;
      return;
    }
    const [, prismaSeconds] = await timed(() => asPrisma(server, "prisma", path.resolve(dir), names));
    // Run twice, Prisma's way tells which columns hold now(), gen_random_uuid() and the like: those are not compared.
    await asPrisma(server, "prisma_again", path.resolve(dir), names);
    const [, psqlSeconds] = withPsql ? await timed(() => asPsql(server.url("psql"), path.resolve(dir), names)) : [undefined, NaN];
    const [rerun, rerunSeconds] = await timed(() => run(process.execPath, [cli, "apply", "--dir", path.resolve(dir), "--database-url", server.url("ours")]));

    const columns = await server.query(userColumns, "prisma");
    const [once, again] = await Promise.all(["prisma", "prisma_again"].map((db) => server.query((c) => columnDigests(c, columns), db)));
    const volatile = new Set(Object.keys(once!).filter((k) => once![k] !== again![k]));
    const read = (db: string) => server.query(async (c) => ({ catalog: await takeCatalog(c, DEFAULT_LEDGER), rows: await rowDigests(c, columns, volatile) }), db);
    const ours = await read("ours");
    const prisma = await read("prisma");
    const problems = compare("Prisma's way", ours.catalog, prisma.catalog, ours.rows, prisma.rows);
    if (withPsql) {
      const psql = await read("psql");
      problems.push(...compare("psql", ours.catalog, psql.catalog, ours.rows, psql.rows));
    }
    if (!/Nothing pending/.test(rerun.stdout)) problems.push(`the rerun was not a no-op:\n${rerun.stdout}`);

    const objects = Object.keys(ours.catalog.objects).length;
    console.log(
      `migrator apply: ${ourSeconds.toFixed(1)} s · Prisma's way: ${prismaSeconds.toFixed(1)} s${withPsql ? ` · psql per file: ${psqlSeconds.toFixed(1)} s` : ""} · rerun: ${rerunSeconds.toFixed(1)} s`,
    );
    const rows = Object.values(ours.rows).reduce((n, v) => n + Number(v.split(" ")[0]), 0);
    console.log(
      `schema: ${objects} catalog objects; data: ${rows} rows in ${Object.keys(ours.rows).length} tables, compared without the ${volatile.size} columns whose values differ between two runs of Prisma's way (now(), random ids)`,
    );
    if (problems.length === 0) {
      console.log(`same schema and data as Prisma's way${withPsql ? " and psql" : ""}; the rerun did nothing`);
    } else {
      for (const p of problems) console.log(p);
      process.exitCode = 1;
    }
  } finally {
    await server.stop();
  }
}

await main();
