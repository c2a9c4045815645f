/**
 * Issue 21 item 1 under the real Pulumi engine: a local stack deployed by the previous release
 * (the program at the parent of 217de5b, the commit that keyed the ledger by folder, ledger
 * format 2) is taken over by this program without re-running anything. The previous release's
 * program comes from git (`git archive`, so CI must clone with history; a shallow clone fails this
 * test, saying so), with this checkout's node_modules and its own scripts/bundle.mjs for dist/.
 * Then, on the same stack and database: `preview` shows no change to the migration-apply command
 * (its manifest keys are MIGRATION_<version> as before), so `up` re-runs nothing (the command does
 * not run at all: its inputs are unchanged) and the checks pass on the version-keyed ledger, and
 * `preview --expect-no-changes` passes; the next `up` with a new file upgrades the ledger under the
 * lock (format 2, every folder once, every earlier row and time kept) and runs only that file.
 * The steps build on each other, so they run in order in one file.
 */
import { execFile } from "node:child_process";
import { copyFile, cp, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { localStack, type LocalStack } from "./local-stack-fixture.js";
import { changes, REPO, urnName, type CliResult } from "./support.js";

const run = promisify(execFile);
/** The commit that made the folder the file's identity; its parent is the previous release. */
const FOLDER_IDENTITY = "217de5b1383dddca0e78fb338f7422890cb6c2eb";
const DATABASE = "engine_ledger_upgrade";
const NEW = "20990101000000_engine_ledger_upgrade_note";

let stack: LocalStack;
/** The previous release's project, beside the current one (which the fixture copied). */
let previous: string;

/** On the stack's database, as the superuser. */
const query = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => stack.query<T>(sql, params);

/**
 * The parent of FOLDER_IDENTITY from this checkout's history. Fails, not skips: a test that
 * cannot get the previous release must not pass for one that was never tried.
 */
async function previousRelease(): Promise<string> {
  try {
    return (await run("git", ["rev-parse", "--verify", `${FOLDER_IDENTITY}^{commit}^`], { cwd: REPO })).stdout.trim();
  } catch (error) {
    const shallow = await run("git", ["rev-parse", "--is-shallow-repository"], { cwd: REPO }).then(
      (r) => r.stdout.trim() === "true",
      () => false,
    );
    throw new Error(
      `this test needs the previous release's program from git (the parent of ${FOLDER_IDENTITY}), which this checkout does not have` +
        `${shallow ? " (it is a shallow clone)" : ""}: clone with full history (\`git clone\` without --depth, or \`git fetch --unshallow\`). ${(error as Error).message}`,
      { cause: error },
    );
  }
}

const inPrevious = (args: string[]) => stack.project.pulumi(args, { cwd: previous, timeoutMs: 600_000 });
const inCurrent = (args: string[]) => stack.project.pulumi(args, { timeoutMs: 600_000 });
const printedBy = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

interface LedgerRow {
  version: string;
  checksum: string;
  applied_at: string;
  status: string;
}

const ledger = () => query<LedgerRow>("SELECT version, checksum, applied_at::text, status FROM migrator.applied_migrations ORDER BY version");
const hasFolderColumn = async () =>
  (
    await query<{ found: boolean }>(`SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'migrator.applied_migrations'::regclass AND attname = 'folder') AS found`)
  )[0]!.found;

let folders: string[];
let deployed: LedgerRow[];

beforeAll(async () => {
  const commit = await previousRelease();
  stack = await localStack({ database: DATABASE, migratorPassword: "engine-ledger-upgrade-password-3c1d" });
  previous = path.join(stack.scratch, "previous");
  await mkdir(previous, { recursive: true });
  await run("bash", ["-o", "pipefail", "-c", `git archive ${commit} | tar -x -C ${JSON.stringify(previous)}`], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  await symlink(path.join(REPO, "node_modules"), path.join(previous, "node_modules"), "dir");
  await run("node", ["scripts/bundle.mjs"], { cwd: previous });
  // The same stack: its settings (the database, the secrets and their salt) as the fixture set them.
  await copyFile(path.join(stack.project.dir, "Pulumi.local.yaml"), path.join(previous, "Pulumi.local.yaml"));
  // The same set in both (the previous release's; identical to today's when this was written), so
  // only the program and the checks differ, whatever files are added later.
  await rm(path.join(stack.project.dir, "sql/migrations"), { recursive: true });
  await cp(path.join(previous, "sql/migrations"), path.join(stack.project.dir, "sql/migrations"), { recursive: true });
  folders = (await readdir(path.join(previous, "sql/migrations"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
}, 300_000);

afterAll(() => stack?.remove());

interface Outputs {
  verification: { checks: { name: string; ok: boolean }[] };
  migrations: { applied: unknown[]; pending: unknown[] };
}
const outputs = async () => JSON.parse(await stack.project.pulumiOk(["stack", "output", "--json", "--show-secrets", "--stack", "local"])) as Outputs;

/** One step of `preview --json` as asserted: the op, the resource and the inputs that differ (Pulumi's `diffReasons`). */
const stepsOf = (previewJson: string) =>
  (changes(previewJson) as (ReturnType<typeof changes>[number] & { diffReasons?: string[] })[])
    .map((s) => ({ op: s.op, name: urnName(s.urn), diffReasons: [...(s.diffReasons ?? [])].sort() }))
    .sort((x, y) => (x.name < y.name ? -1 : 1));

describe("a stack deployed by the previous release, taken over by this one", () => {
  test("1. the previous release's up: every file applied, into a version-keyed ledger (format 1)", async () => {
    const r = await inPrevious(["up", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, printedBy(r)).toBe(0);
    deployed = await ledger();
    expect(deployed.map((row) => row.version)).toEqual(folders.map((f) => f.split("_")[0]).sort());
    expect(await hasFolderColumn()).toBe(false);
  });

  test("2. this program's preview: no change to the migration-apply command; exactly the migrator's role (its password is now a SCRAM verifier) and the verification (its checks changed) update", async () => {
    const r = await inCurrent(["preview", "--json", "--stack", "local"]);
    expect(r.code, printedBy(r)).toBe(0);
    const steps = stepsOf(r.stdout);
    expect(steps.filter((s) => s.name === "migration-apply")).toEqual([]);
    expect(steps).toEqual(EXPECTED_CHANGES);
  });

  test("3. this program's up: nothing re-run (the apply command's inputs are unchanged, so it does not run), every check passes on the version-keyed ledger", async () => {
    const r = await inCurrent(["up", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, printedBy(r)).toBe(0);
    expect(await ledger()).toEqual(deployed);
    expect((await outputs()).verification.checks.filter((c) => !c.ok)).toEqual([]);
  });

  test("4. preview --expect-no-changes passes", async () => {
    const r = await inCurrent(["preview", "--expect-no-changes", "--stack", "local"]);
    expect(r.code, printedBy(r)).toBe(0);
  });

  test("5. the next up with a new file upgrades the ledger to format 2: every earlier row kept as it was, each folder once, only the new file run", async () => {
    const dir = path.join(stack.project.dir, "sql/migrations", NEW);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), "CREATE TABLE engine_ledger_upgrade_note (id bigint PRIMARY KEY);\n");
    const r = await inCurrent(["up", "--yes", "--skip-preview", "--stack", "local"]);
    expect(r.code, printedBy(r)).toBe(0);
    expect(await hasFolderColumn()).toBe(true);
    const after = await ledger();
    expect(after.slice(0, -1)).toEqual(deployed);
    expect(after.at(-1)).toMatchObject({ version: NEW.split("_")[0], status: "applied" });
    const byFolder = await query<{ folder: string; n: number }>("SELECT folder, count(*)::int AS n FROM migrator.applied_migrations GROUP BY folder ORDER BY folder");
    expect(byFolder).toEqual([...folders, NEW].sort().map((folder) => ({ folder, n: 1 })));
    expect((await outputs()).verification.checks.filter((c) => !c.ok)).toEqual([]);
  });
});

/**
 * What the current program changes on a stack the previous release deployed (pinned from preview
 * --json): the migrator role's password input, now its SCRAM verifier (0760c60, infra/scram.ts),
 * and the verification command's environment (the checks in sql/verify join the ledger by folder
 * since 217de5b, and the report gained drift). Never the migration-apply command.
 */
const EXPECTED_CHANGES: { op: string; name: string; diffReasons: string[] }[] = [
  { op: "update", name: "access-migrator", diffReasons: ["password"] },
  { op: "update", name: "verification-report", diffReasons: ["environment"] },
];
