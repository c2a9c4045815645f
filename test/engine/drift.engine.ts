/**
 * Drift in the local stack under the real Pulumi engine (the CLI, the Node.js language host and the
 * command and postgresql providers built by scripts/build-pulumi.sh; an embedded PostgreSQL 17 as
 * the existing server): the `drift` output after `up`, a column added by hand in it and on the audit
 * page, and `failOnDrift` stopping an `up` before its pending file, then letting it through once
 * the column is gone; without `failOnDrift`, a column added by hand survives an `up` of a new file
 * in the drift output (carried into the new snapshot, not taken in). The steps build on each other,
 * so they run in order in one file.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Evidence } from "../../audit/evidence.js";
import { localStack, type LocalStack } from "./local-stack-fixture.js";

const DATABASE = "engine_drift";
const NEW = "20990101000000_engine_drift_note";
const NEXT = "20990102000000_engine_drift_next";
const PLANTED = 'column "Member"."nickname" text exists in the database, not in the migrations';

let stack: LocalStack;

/** On the stack's database, as the superuser. */
const query = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => stack.query<T>(sql, params);

interface DriftOutput {
  status: string;
  head: string | null;
  snapshot: { head: string; sha256: string; takenAt: string } | null;
  liveSha256: string | null;
  differences: { kind: string; name: string; change: string; line: string }[];
}

const up = () => stack.project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
const driftOutput = async () => JSON.parse(await stack.project.pulumiOk(["stack", "output", "drift", "--json", "--stack", "local"])) as DriftOutput;
const printedBy = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const ledger = async () => (await query<{ version: string }>("SELECT version FROM migrator.applied_migrations ORDER BY version")).map((r) => r.version);
const tableExists = async (name: string) => (await query<{ found: boolean }>(`SELECT to_regclass('public.${name}') IS NOT NULL AS found`))[0]!.found;
let lastFolder: string;

beforeAll(async () => {
  stack = await localStack({ database: DATABASE, migratorPassword: "engine-drift-migrator-password-4b8e" });
  const folders = (await readdir(path.join(stack.project.dir, "sql/migrations"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  lastFolder = folders.sort().at(-1)!;
}, 300_000);

afterAll(() => stack?.remove());

describe("drift in the local stack under the real engine", () => {
  test("1. up: the drift output is none, with the snapshot the database recorded at the applied head", async () => {
    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    const [recorded] = await query<{ head: string; sha256: string }>("SELECT head, sha256 FROM migrator.applied_migrations_snapshots");
    expect(recorded!.head).toBe(lastFolder);
    const drift = await driftOutput();
    expect(drift).toMatchObject({ status: "none", head: lastFolder, differences: [], snapshot: { head: lastFolder, sha256: recorded!.sha256 } });
    expect(drift.liveSha256).toBe(recorded!.sha256);
  });

  test("2. a column added by hand: the next verification's drift output names it, and so does the audit page", async () => {
    await query(`ALTER TABLE "Member" ADD COLUMN nickname text`);
    await stack.configSet("verificationRun", "after-the-column");
    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    // Said in the up log too, as a warning.
    expect(printedBy(run)).toContain(PLANTED);
    const drift = await driftOutput();
    expect(drift).toMatchObject({ status: "drifted", head: lastFolder, differences: [{ kind: "column", name: '"Member"."nickname"', change: "added", line: PLANTED }] });

    const out = path.join(stack.scratch, "report");
    await promisify(execFile)("node", ["dist/audit.js", "--stack", "local", "--out", out], { cwd: stack.project.dir, env: stack.project.env });
    const evidence = JSON.parse(await readFile(path.join(out, "evidence.json"), "utf8")) as Evidence;
    expect(evidence.drift).toMatchObject({ status: "drifted", snapshot: { sha256: drift.snapshot!.sha256 }, differences: [{ line: PLANTED }] });
    const page = await readFile(path.join(out, "index.html"), "utf8");
    expect(page).toContain(`data-field="drift-snapshot-sha256">${drift.snapshot!.sha256}<`);
    expect(page).toContain("column &quot;Member&quot;.&quot;nickname&quot; text exists in the database");
  });

  test("3. failOnDrift: up with a pending file stops before it, naming the column and what to do; nothing is applied", async () => {
    const before = await ledger();
    await stack.configSet("failOnDrift", "true");
    const dir = path.join(stack.project.dir, "sql/migrations", NEW);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), "CREATE TABLE engine_drift_note (id bigint PRIMARY KEY);\n");
    const run = await up();
    expect(run.code).not.toBe(0);
    const printed = printedBy(run);
    expect(printed).toMatch(new RegExp(`schema drifted from the snapshot recorded at ${lastFolder}`));
    expect(printed).toContain(PLANTED);
    expect(printed).toMatch(/undo it in the database \(restore the object as the migrations define it\)/);
    expect(await ledger()).toEqual(before);
    expect(await tableExists("engine_drift_note")).toBe(false);
    // The state keeps the last good report: the drift output still names the column.
    expect((await driftOutput()).status).toBe("drifted");
  });

  test("4. the column dropped: the same up applies the file, and the drift output is none at the new head", async () => {
    await query(`ALTER TABLE "Member" DROP COLUMN nickname`);
    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    expect(await tableExists("engine_drift_note")).toBe(true);
    expect((await ledger()).at(-1)).toBe(NEW.split("_")[0]);
    expect(await driftOutput()).toMatchObject({ status: "none", head: NEW, differences: [], snapshot: { head: NEW } });
  });

  test("5. failOnDrift false: a column added by hand, then up with one new file: the file applies and the drift output still names the column", async () => {
    await stack.configSet("failOnDrift", "false");
    await query(`ALTER TABLE "Member" ADD COLUMN nickname text`);
    const dir = path.join(stack.project.dir, "sql/migrations", NEXT);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), "CREATE TABLE engine_drift_next (id bigint PRIMARY KEY);\n");
    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    expect(await tableExists("engine_drift_next")).toBe(true);
    expect(printedBy(run)).toMatch(new RegExp(`drift carried into the new snapshot at ${NEXT}: 1 difference; \`migrate drift\` lists it`));
    // The snapshot at the new head is what the migrations produce, so the column is still drift.
    expect(await driftOutput()).toMatchObject({
      status: "drifted",
      head: NEXT,
      snapshot: { head: NEXT },
      differences: [{ kind: "column", name: '"Member"."nickname"', line: PLANTED }],
    });
  });
});
