/**
 * A database Prisma migrated, taken over by the local stack under the real Pulumi engine (the CLI,
 * the Node.js language host and the command and postgresql providers built by
 * scripts/build-pulumi.sh; an embedded PostgreSQL 17 as the existing server).
 *
 * The story: the stack's roles exist (a first `up` that stops short of the migrations), and the
 * team has been running `prisma migrate deploy` as the migrator role, so the migrator owns what
 * Prisma created, as the stack's verification demands (docs/migrator.md, "Coming from Prisma"). Prisma's run is simulated as
 * prisma-engines does it (test/support/prisma.ts cites the source): each file one simple-protocol
 * query, and its `_prisma_migrations` row. Then the full `up` adopts: every file `adopted`, none
 * run again (a file that ran twice would fail on its CREATE TABLE, and the data Prisma's run left
 * stays as it was), the verification passes, and the next preview has no change.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { migrateAsPrisma } from "../support/prisma.js";
import { localStack, type LocalStack } from "./local-stack-fixture.js";

const DATABASE = "engine_prisma_adopt";
const MIGRATOR_PASSWORD = "engine-prisma-adopt-migrator-password-7c1d";

let stack: LocalStack;
let folders: string[];

/** As the migrator role, the one Prisma ran as. */
const migratorUrl = () => `postgresql://migrator:${encodeURIComponent(MIGRATOR_PASSWORD)}@127.0.0.1:${stack.first.port}/${DATABASE}`;

/** On the stack's database, as the superuser. */
const query = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => stack.query<T>(sql, params);

const printedBy = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const up = (...extra: string[]) => stack.project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local", ...extra], { timeoutMs: 600_000 });
/** What the files left behind, tables and the rows in them: the same before and after adoption, or a file ran twice. */
const contents = () =>
  query<{ relname: string; rows: string }>(
    `SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', c.relname), false, true, '')))[1]::text AS rows
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_prisma_migrations' ORDER BY c.relname`,
  );

beforeAll(async () => {
  stack = await localStack({ database: DATABASE, migratorPassword: MIGRATOR_PASSWORD });
  const entries = await readdir(path.join(stack.project.dir, "sql/migrations"), { withFileTypes: true });
  folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}, 300_000);

afterAll(() => stack?.remove());

describe("the local stack on a database Prisma migrated", () => {
  test("1. the roles first, no migration: an up that leaves out the migration command and what follows it", async () => {
    const run = await up("--exclude", "**migration-apply", "--exclude-dependents");
    // The resources before the migration are created; the run reports one error, and only because the
    // stack's outputs are made from the verification report, which this partial up leaves out.
    const errors = printedBy(run).match(/^\s*error: .*$/gm) ?? [];
    expect(errors.length, printedBy(run)).toBeGreaterThan(0);
    expect(printedBy(run)).toContain("the verification command's report is not what bin/stack-report.ts writes");
    expect(printedBy(run)).toMatch(/\+ \d+ created/);
    expect((await query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'migrator'`))[0]!.n).toBe(1);
    expect((await query<{ found: boolean }>(`SELECT to_regclass('migrator.applied_migrations') IS NOT NULL AS found`))[0]!.found).toBe(false);
  });

  test("2. prisma migrate deploy, as Prisma runs it, as the migrator role: every file, and its _prisma_migrations row", async () => {
    await migrateAsPrisma(migratorUrl(), path.join(stack.project.dir, "sql/migrations"), folders);
    const rows = await query<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(folders);
  });

  test("3. up adopts every file, runs none of them, and the verification passes", async () => {
    const before = await contents();
    expect(before.length).toBeGreaterThan(0);
    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    expect(run.stdout).toContain(`Adopted ${folders.length} files from Prisma's history (_prisma_migrations)`);
    const ledger = await query<{ folder: string; status: string }>(`SELECT folder, status FROM migrator.applied_migrations ORDER BY folder COLLATE "C"`);
    expect(ledger).toEqual(folders.map((folder) => ({ folder, status: "adopted" })));
    // No file ran again: every table holds what Prisma's run left (the set's own data included).
    expect(await contents()).toEqual(before);

    const outputs = JSON.parse(await stack.project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as {
      migrations: { applied: { version: string; name: string; status: string }[]; pending: unknown[] };
      verification: { ok: boolean; failed: number; checks: { name: string; ok: boolean; detail: string }[] };
    };
    expect(outputs.verification.failed, JSON.stringify(outputs.verification.checks.filter((c) => !c.ok))).toBe(0);
    expect(outputs.verification.ok).toBe(true);
    expect(outputs.verification.checks.find((c) => c.name === "migrations_applied")?.detail).toContain(`${folders.length} adopted`);
    expect(outputs.migrations.applied.map((a) => [`${a.version}_${a.name}`, a.status])).toEqual(folders.map((f) => [f, "adopted"]));
    expect(outputs.migrations.pending).toEqual([]);
  });

  test("4. the next preview shows no change", async () => {
    const r = await stack.project.pulumi(["preview", "--expect-no-changes", "--stack", "local"]);
    expect(r.code, printedBy(r)).toBe(0);
  });
});
