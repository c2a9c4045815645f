/**
 * `pulumi up` killed as a cancelled CI job is, under the real engine against a real PostgreSQL:
 * the CLI's whole process group gets SIGKILL, then every process of the run still alive (Pulumi
 * starts each plugin in a process group of its own, so the migrator outlives the CLI until the
 * runner's clean-up kills it). Three points: the first `up` of a new stack mid-migration, a later
 * `up` mid-migration (in a no-transaction file), a later `up` after the migrations while the
 * verification runs. After each, the one recovery docs/failure-modes.md gives ("What happens when
 * `pulumi up` is killed"), and then what the database holds: every file once, checks passing,
 * nothing left to change. The steps build on each other, so they run in order in one file.
 */
import { cp, mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  holdVerifyGate,
  killRunProcesses,
  runProcesses,
  sessionsRunning,
  setMigrationGate,
  SLEEP_WHILE_GATED,
  spawnUp,
  VERIFY_GATE_KEY,
  waitFor,
  type RunningUp,
} from "./killed-up-support.js";
import { localStack, type LocalStack } from "./local-stack-fixture.js";
import { REPO, urnName, type CliResult, type EngineProject } from "./support.js";

const DATABASE = "engine_killed";
const MIGRATOR_PASSWORD = "engine-killed-migrator-password-2c9e";
/** The stack's checks: the project's own and one that waits for the test (VERIFY_GATE_KEY). */
const VERIFY_DIR = "engine-verify";

let stack: LocalStack;
let project: EngineProject;
let adminUrl: string;
/** The runs started here, so whatever outlives a failed test is killed at the end. */
const runs: RunningUp[] = [];

/** On the stack's database, as the superuser. */
const query = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => stack.query<T>(sql, params);

async function writeMigration(folder: string, sql: string): Promise<void> {
  const dir = path.join(project.dir, "sql/migrations", folder);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "migration.sql"), sql);
}

async function filesOnDisk(): Promise<string[]> {
  const entries = await readdir(path.join(project.dir, "sql/migrations"), { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

const ledger = async () => {
  const exists = await query<{ t: string | null }>("SELECT to_regclass('migrator.applied_migrations')::text AS t");
  if (exists[0]?.t === null) return [];
  return query<{ folder: string; status: string }>("SELECT version || '_' || name AS folder, status FROM migrator.applied_migrations ORDER BY version::numeric");
};
/** What each test file's INSERT left: a file that ran twice would show twice. */
const runsRecorded = async () => (await query<{ file: string }>("SELECT file FROM engine_runs ORDER BY file")).map((r) => r.file);
const invalidIndexes = async () =>
  (await query<{ name: string }>("SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid ORDER BY 1")).map((r) => r.name);

const printedBy = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

interface Deployment {
  resources?: { urn: string }[];
  pending_operations?: { type: string; resource: { urn: string } }[];
}
const deployment = async () => (JSON.parse(await project.pulumiOk(["stack", "export", "--stack", "local"])) as { deployment: Deployment }).deployment;
const pendingOperations = async () => ((await deployment()).pending_operations ?? []).map((p) => `${p.type} ${urnName(p.resource.urn)}`);

interface Outputs {
  verification?: { ok: boolean; failed: number; checks: { name: string; ok: boolean; detail: string }[] };
  migrations?: { applied: { version: string; name: string }[]; pending: unknown[] };
}
const outputs = async () => JSON.parse(await project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as Outputs;

/**
 * Starts `up`, waits (polling the database) until `landed` says the run is where the kill should
 * land, and kills it as a cancelled job is: the CLI's process group, then what outlived it.
 * Returns what was still running after the first kill.
 */
async function killUpWhen(landed: () => Promise<boolean>, outlives: string): Promise<{ run: RunningUp; survivors: string[] }> {
  const tmp = path.join(stack.scratch, "tmp");
  await mkdir(tmp, { recursive: true });
  const run = spawnUp(project, tmp);
  runs.push(run);
  await waitFor("the run to reach the point of the kill", async () => ((await landed()) ? true : undefined), { context: run.printed });
  await run.killGroup();
  expect((await run.exited).signal).toBe("SIGKILL");
  // The kill of the CLI's group leaves the plugins and the command they run: the runner's clean-up kills them.
  const survivors = (await runProcesses(run.marker)).map((p) => p.command);
  expect(
    survivors.some((c) => c.includes(outlives)),
    survivors.join("\n"),
  ).toBe(true);
  await killRunProcesses(run.marker);
  return { run, survivors };
}

/** The next `up`, before anything else: the killed run's lock is still on the stack. */
async function nextUpSays(): Promise<CliResult> {
  const r = await project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local"]);
  expect(r.code).not.toBe(0);
  expect(printedBy(r)).toMatch(/the stack is currently locked by 1 lock\(s\)[\s\S]*delete the lock file with `pulumi cancel`/);
  return r;
}

/** The recovery docs/failure-modes.md gives, in its order; each step must succeed. */
async function recover(): Promise<string> {
  await project.pulumiOk(["cancel", "--yes", "--stack", "local"]);
  await project.pulumiOk(["refresh", "--clear-pending-creates", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
  expect(await pendingOperations()).toEqual([]);
  return project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
}

/** Converged: every file on disk once in the ledger and applied, the checks passing in the outputs, nothing left to change. */
async function expectConverged(): Promise<void> {
  const files = await filesOnDisk();
  const rows = await ledger();
  expect(rows.map((r) => r.folder)).toEqual(files);
  expect(rows.filter((r) => r.status !== "applied")).toEqual([]);
  expect(await invalidIndexes()).toEqual([]);

  const { verification, migrations } = await outputs();
  expect(verification?.checks.filter((c) => !c.ok)).toEqual([]);
  expect(verification?.ok).toBe(true);
  expect(verification?.checks.map((c) => c.name)).toContain("engine_verify_gate");
  expect(migrations?.applied.map((a) => `${a.version}_${a.name}`)).toEqual(files);
  expect(migrations?.pending).toEqual([]);

  const r = await project.pulumi(["preview", "--expect-no-changes", "--stack", "local"]);
  expect(r.code, printedBy(r)).toBe(0);
  expect(await pendingOperations()).toEqual([]);
}

beforeAll(async () => {
  stack = await localStack({ database: DATABASE, migratorPassword: MIGRATOR_PASSWORD });
  project = stack.project;
  adminUrl = stack.first.url("postgres");
  await cp(path.join(REPO, "sql/verify"), path.join(project.dir, VERIFY_DIR), { recursive: true });
  await writeFile(
    path.join(project.dir, VERIFY_DIR, "99_engine_verify_gate.sql"),
    `-- Test only: waits while the test holds advisory lock ${VERIFY_GATE_KEY}, so a kill lands while the checks run.\n` +
      `SELECT 'engine_verify_gate' AS "check", true AS ok, 'the gate was open' AS detail\n` +
      `  FROM (SELECT pg_advisory_xact_lock_shared(${VERIFY_GATE_KEY})) AS gate;\n`,
  );
  await stack.configSet("verifyDir", VERIFY_DIR);
}, 300_000);

afterAll(async () => {
  for (const run of runs) await killRunProcesses(run.marker).catch(() => {});
  await stack?.remove();
});

describe("pulumi up killed as a cancelled CI job: cancel, refresh --clear-pending-creates, up converges", () => {
  test("a. the first up of a new stack, killed while a migration runs: the file rolls back; the recovery applies it once", async () => {
    const slow = "20990301000000_engine_killed_first";
    await writeMigration(
      slow,
      "CREATE TABLE engine_runs (file text NOT NULL, ran_at timestamptz NOT NULL DEFAULT now());\n" +
        "INSERT INTO engine_runs (file) VALUES ('first');\n" +
        `SELECT ${SLEEP_WHILE_GATED};\n`,
    );
    await setMigrationGate(adminUrl, DATABASE, true);
    await killUpWhen(async () => (await sessionsRunning(adminUrl, DATABASE, "'first'")).some((s) => s.application_name === "migrator"), "dist/migrate.js");
    // The server sees the client gone within about a second and rolls the file back with its ledger row.
    await waitFor("the killed migrator's session to end", async () => ((await sessionsRunning(adminUrl, DATABASE, "'first'")).length === 0 ? true : undefined));
    await setMigrationGate(adminUrl, DATABASE, false);
    const files = await filesOnDisk();
    expect((await ledger()).map((r) => r.folder)).toEqual(files.filter((f) => f !== slow));
    expect(await query("SELECT to_regclass('public.engine_runs') AS t")).toEqual([{ t: null }]);
    expect(await pendingOperations()).toEqual(["creating migration-apply"]);
    // The stack's outputs are saved when an update ends: the killed first one left none.
    expect(await outputs()).toEqual({});

    await nextUpSays();
    const out = await recover();
    expect(out).toMatch(new RegExp(`applied\\s+${slow}`));
    expect(await runsRecorded()).toEqual(["first"]);
    await expectConverged();
  });

  test("b. a later up, killed in a CREATE INDEX CONCURRENTLY: the row stays started; the recovery repairs the index and records the file once", async () => {
    const table = "20990302000000_engine_killed_rows";
    const index = "20990302000100_engine_killed_rows_key";
    await writeMigration(
      table,
      "CREATE TABLE engine_rows (id bigint PRIMARY KEY);\n" +
        "INSERT INTO engine_rows SELECT generate_series(1, 3);\n" +
        "INSERT INTO engine_runs (file) VALUES ('rows');\n" +
        // Declared immutable so an index may use it; it sleeps while the gate is on, so the build does.
        `CREATE FUNCTION engine_slow_key(k bigint) RETURNS bigint IMMUTABLE LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM ${SLEEP_WHILE_GATED};\n  RETURN k;\nEND\n$$;\n`,
    );
    await writeMigration(index, "CREATE INDEX CONCURRENTLY IF NOT EXISTS engine_rows_key ON engine_rows (engine_slow_key(id));\n");
    await setMigrationGate(adminUrl, DATABASE, true);
    await killUpWhen(async () => (await sessionsRunning(adminUrl, DATABASE, "engine_rows_key")).some((s) => s.application_name === "migrator"), "dist/migrate.js");
    await waitFor("the killed build to end", async () => ((await sessionsRunning(adminUrl, DATABASE, "engine_rows_key")).length === 0 ? true : undefined));
    await setMigrationGate(adminUrl, DATABASE, false);
    const rows = await ledger();
    expect(rows.slice(-2)).toEqual([
      { folder: table, status: "applied" },
      { folder: index, status: "started" },
    ]);
    expect(await invalidIndexes()).toEqual(["engine_rows_key"]);
    expect(await pendingOperations()).toEqual(["updating migration-apply"]);

    await nextUpSays();
    const out = await recover();
    expect(out).toMatch(new RegExp(`repaired\\s+${index}: dropped INVALID index engine_rows_key`));
    expect(await runsRecorded()).toEqual(["first", "rows"]);
    await expectConverged();
  });

  test("c. a later up, killed after the migrations while the verification runs: the recovery applies nothing and verifies", async () => {
    const last = "20990303000000_engine_killed_last";
    await writeMigration(last, "INSERT INTO engine_runs (file) VALUES ('last');\n");
    const release = await holdVerifyGate(stack.first.url(DATABASE));
    try {
      const files = await filesOnDisk();
      await killUpWhen(async () => {
        const inLedger = (await ledger()).map((r) => r.folder);
        if (inLedger.length !== files.length) return false;
        expect(inLedger).toEqual(files);
        return (await sessionsRunning(adminUrl, DATABASE, `pg_advisory_xact_lock_shared(${VERIFY_GATE_KEY})`)).length > 0;
      }, "dist/stack-report.js");
    } finally {
      // The killed report's backend waits on the gate; let go, and it ends on its dead connection.
      await release();
    }
    await waitFor("the killed report's session to end", async () =>
      (await sessionsRunning(adminUrl, DATABASE, `pg_advisory_xact_lock_shared(${VERIFY_GATE_KEY})`)).length === 0 ? true : undefined,
    );
    expect(await pendingOperations()).toEqual(["updating verification-report"]);
    // The outputs are still those of the last finished up: they do not list the file yet.
    expect((await outputs()).migrations?.applied.map((a) => `${a.version}_${a.name}`)).not.toContain(last);

    await nextUpSays();
    const out = await recover();
    // The migration command's inputs were saved when it finished: the recovery does not run it again.
    expect(out).not.toMatch(/Applying sql\/migrations/);
    expect(await runsRecorded()).toEqual(["first", "last", "rows"]);
    await expectConverged();
  });
});
