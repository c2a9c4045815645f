/**
 * The local stack under the real Pulumi engine: the CLI, the Node.js language host and the command
 * and postgresql providers built by scripts/build-pulumi.sh, a file backend with a passphrase
 * secrets provider, and embedded PostgreSQL 17 servers as the "existing server".
 * The steps build on each other, so they run in order in one file.
 */
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EmbeddedServer } from "../../migrator/embedded/server.js";
import { localStack, type LocalStack } from "./local-stack-fixture.js";
import { changes, copyProject, REPO, urnName, urnType, type EngineProject } from "./support.js";

const DATABASE = "engine_app";
const MIGRATOR_PASSWORD = "engine-migrator-password-7f3a9c";
const NEW_VERSION = "20990101000000";
const FAILING_VERSION = "20990101000100";
const AFTER_FAILING_VERSION = "20990101000200";
/** Where the steps leave what a reviewer sees (git-ignored); docs/stacks.md quotes it. */
const EXAMPLES = path.join(REPO, ".tools", "pulumi", "examples");

let stack: LocalStack;
/** The server the stack points at now. */
let server: EmbeddedServer;
let project: EngineProject;

async function query<T extends pg.QueryResultRow>(sql: string, on: EmbeddedServer = server): Promise<T[]> {
  const client = new pg.Client({ connectionString: on.url(DATABASE) });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

interface Snapshot {
  ledger: { version: string; checksum: string; applied_at: string; status: string }[];
  tables: string[];
  roles: string[];
}

/** What the database holds: the ledger, every table outside the system schemas, the stack's roles. */
async function snapshot(on: EmbeddedServer = server): Promise<Snapshot> {
  const tables = (
    await query<{ t: string }>(
      "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
      on,
    )
  ).map((r) => r.t);
  const ledger = tables.includes("migrator.applied_migrations")
    ? await query<Snapshot["ledger"][number]>("SELECT version, checksum, applied_at::text, status FROM migrator.applied_migrations ORDER BY version", on)
    : [];
  const roles = (await query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname IN ('migrator', 'app', 'auditor') ORDER BY 1", on)).map((r) => r.rolname);
  return { ledger, tables, roles };
}

async function migrationVersions(): Promise<string[]> {
  const entries = await readdir(path.join(project.dir, "sql/migrations"), { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name.split("_")[0]!)
    .sort();
}

const preview = async () => changes(await project.pulumiOk(["preview", "--json", "--stack", "local"]));
/** `preview --diff`: the diff on stdout; the program's own log lines (the lint gate's) come on stderr. */
const previewDiffRun = async () => {
  const r = await project.pulumi(["preview", "--diff", "--stack", "local"]);
  if (r.code !== 0) throw new Error(`pulumi preview --diff exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
};
const previewDiff = async () => (await previewDiffRun()).stdout;
const up = () => project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
const printedBy = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const opsOf = (steps: ReturnType<typeof changes>) => steps.map((s) => `${s.op} ${urnName(s.urn)}`).sort();

/** Every password this test handed out: none may appear where it is not asked for. */
const secrets = () => stack.secrets();

async function writeMigration(version: string, name: string, sql: string): Promise<string> {
  const dir = path.join(project.dir, "sql/migrations", `${version}_${name}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "migration.sql"), sql);
  return path.join(dir, "migration.sql");
}

beforeAll(async () => {
  stack = await localStack({ database: DATABASE, migratorPassword: MIGRATOR_PASSWORD });
  ({ project, first: server } = stack);
  await mkdir(EXAMPLES, { recursive: true });
}, 300_000);

afterAll(() => stack?.remove());

describe("the local stack under the real Pulumi engine", () => {
  test("1. preview: one command for the whole set, each file visible in its environment; nothing applied", async () => {
    const steps = await preview();
    expect(steps.every((s) => s.op === "create")).toBe(true);
    const commands = steps.filter((s) => urnType(s.urn) === "command:local:Command").map((s) => urnName(s.urn));
    expect(commands.sort()).toEqual(["migration-apply", "verification-report"]);
    expect(steps.map((s) => urnType(s.urn))).toEqual(expect.arrayContaining(["pulumi:providers:postgresql", "postgresql:index/role:Role"]));
    expect(steps.filter((s) => urnType(s.urn).startsWith("aws:") || urnType(s.urn) === "pulumi:providers:aws")).toEqual([]);

    const diff = await previewDiffRun();
    const text = diff.stdout;
    // A stack with no successful up: every file is pending, so lint looks at all of them.
    expect(diff.stderr).toMatch(/lint: every file \(\d+\) for PostgreSQL 17 \(this stack has no successful up yet\)/);
    for (const version of await migrationVersions()) expect(text).toMatch(new RegExp(`MIGRATION_${version}\\s*: "\\S+ (no-)?transaction sha256:[0-9a-f]{64}"`));
    expect(text).toMatch(/DATABASE_URL\s*: \[secret\]/);
    for (const s of secrets()) expect(text).not.toContain(s);

    expect(await snapshot()).toEqual({ ledger: [], tables: [], roles: [] });
  });

  test("2. up applies the set; outputs show every check passing and the ledger; secrets stay secret", async () => {
    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    const versions = await migrationVersions();
    expect((await snapshot()).ledger.map((r) => r.version)).toEqual(versions);
    // The migrator's own progress reaches the up log, one line per file.
    expect(run.stdout).toMatch(new RegExp(`${versions.at(-1)}_\\S+`));

    const outputs = JSON.parse(await project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as {
      migrations: { applied: { version: string }[] };
      verification: { ok: boolean; failed: number; checks: { name: string; ok: boolean }[] };
      migrationSet: { files: number; last: string; sha256: string };
    };
    expect(outputs.verification.ok).toBe(true);
    expect(outputs.verification.failed).toBe(0);
    expect(outputs.verification.checks.length).toBeGreaterThan(0);
    expect(outputs.migrations.applied.map((a) => a.version)).toEqual(versions);
    expect(outputs.migrationSet).toEqual({
      files: versions.length,
      last: expect.stringMatching(new RegExp(`^${versions.at(-1)}_`)),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const plain = [
      printedBy(run),
      JSON.stringify(outputs),
      await project.pulumiOk(["config", "--json", "--stack", "local"]),
      await project.pulumiOk(["stack", "export", "--stack", "local"]),
      await readFile(path.join(project.dir, "Pulumi.local.yaml"), "utf8"),
    ].join("\n");
    for (const s of secrets()) expect(plain).not.toContain(s);
    expect(await project.pulumiOk(["stack", "export", "--show-secrets", "--stack", "local"])).toContain(MIGRATOR_PASSWORD);

    const stateFiles = await findFiles(project.stateDir, (f) => /stacks\/.*local\.json(\.gz)?$/.test(f));
    expect(stateFiles.length, "the local stack's state file").toBe(1);
    const state = await readFile(stateFiles[0]!, "utf8");
    expect(state).toContain("migration-apply");
    for (const s of secrets()) expect(state).not.toContain(s);
  });

  test("3. no change: preview --expect-no-changes passes from the root, from a subfolder, and from a clone in another folder", async () => {
    for (const cwd of [project.dir, path.join(project.dir, "sql", "migrations")]) {
      const r = await project.pulumi(["preview", "--expect-no-changes", "--stack", "local"], { cwd });
      expect(r.code, `${cwd}\n${printedBy(r)}`).toBe(0);
      // Everything is applied: the gate has nothing to lint (the stack's last outputs say so).
      expect(printedBy(r)).not.toMatch(/lint:/);
    }
    const clone = path.join(stack.scratch, "another-checkout", "pg-migrations");
    await mkdir(path.dirname(clone), { recursive: true });
    await copyProject(clone);
    await writeFile(path.join(clone, "Pulumi.local.yaml"), await readFile(path.join(project.dir, "Pulumi.local.yaml")));
    const r = await project.pulumi(["preview", "--expect-no-changes", "--stack", "local"], { cwd: clone });
    expect(r.code, printedBy(r)).toBe(0);
  });

  test("4. a new file: preview shows it as one added manifest entry; up applies only it", async () => {
    const before = await snapshot();
    await writeMigration(NEW_VERSION, "engine_note", "CREATE TABLE engine_note (id bigint PRIMARY KEY, note text NOT NULL);\n");

    const steps = await preview();
    expect(opsOf(steps)).toEqual(["update migration-apply", "update verification-report"]);

    const diff = await previewDiffRun();
    const text = diff.stdout;
    await writeFile(path.join(EXAMPLES, "preview-diff-new-file.txt"), text);
    expect(text).toMatch(new RegExp(`\\+ MIGRATION_${NEW_VERSION}\\s*: "engine_note transaction sha256:[0-9a-f]{64}"`));
    // Only the new file is listed as a change, not the whole set.
    expect(text.match(/[+~-] MIGRATION_\d+/g)).toEqual([`+ MIGRATION_${NEW_VERSION}`]);
    // The outputs name the set in brief: no other file's name is printed.
    expect(text).not.toContain("0_init");
    expect(text).toMatch(new RegExp(`~ last\\s*: "\\S+" => "${NEW_VERSION}_engine_note"`));
    // The lint gate looked at the new file only, for the server the last verification saw.
    expect(diff.stderr).toMatch(/lint: 1 pending file of \d+ for PostgreSQL 17 \(not in the ledger of this stack's last up\)/);
    for (const s of secrets()) expect(text).not.toContain(s);

    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    const after = await snapshot();
    expect(after.ledger.slice(0, -1)).toEqual(before.ledger);
    expect(after.ledger.at(-1)!.version).toBe(NEW_VERSION);
    expect(after.tables).toContain("public.engine_note");
  });

  test("5. an applied file edited: preview names that file; up refuses with the migrator's message, the database unchanged", async () => {
    const before = await snapshot();
    const file = path.join(project.dir, "sql/migrations", `${NEW_VERSION}_engine_note`, "migration.sql");
    const original = await readFile(file, "utf8");
    await appendFile(file, "CREATE TABLE engine_edit (id bigint PRIMARY KEY);\n");
    try {
      expect(opsOf(await preview())).toEqual(["update migration-apply", "update verification-report"]);
      const text = await previewDiff();
      await writeFile(path.join(EXAMPLES, "preview-diff-edited-file.txt"), text);
      expect(text.match(/[+~-] MIGRATION_\d+/g)).toEqual([`~ MIGRATION_${NEW_VERSION}`]);

      const run = await up();
      expect(run.code).not.toBe(0);
      expect(printedBy(run)).toMatch(new RegExp(`${NEW_VERSION}_engine_note[\\s\\S]*was edited after it was applied`));
      expect(await snapshot()).toEqual(before);
    } finally {
      await writeFile(file, original);
    }
    const back = await up();
    expect(back.code, printedBy(back)).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  test("6. a removed file: preview names it; up refuses and changes nothing; restored, nothing changes", async () => {
    const before = await snapshot();
    const folder = path.join(project.dir, "sql/migrations", `${NEW_VERSION}_engine_note`);
    const saved = await readFile(path.join(folder, "migration.sql"), "utf8");
    await rm(folder, { recursive: true });
    try {
      const text = await previewDiff();
      expect(text.match(/[+~-] MIGRATION_\d+/g)).toEqual([`- MIGRATION_${NEW_VERSION}`]);
      const run = await up();
      expect(run.code).not.toBe(0);
      expect(printedBy(run)).toMatch(new RegExp(`${NEW_VERSION}[\\s\\S]*no such migration is in the set`));
      expect(await snapshot()).toEqual(before);
    } finally {
      await writeMigration(NEW_VERSION, "engine_note", saved);
    }
    const back = await up();
    expect(back.code, printedBy(back)).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  test("7. a failed migration: it and the files after it stay pending, the next up retries; fixed, the rest applies", async () => {
    const before = await snapshot();
    const failing = await writeMigration(FAILING_VERSION, "engine_bad", "-- a NOT NULL column without a value\nINSERT INTO engine_note (id) VALUES (1);\n");
    await writeMigration(AFTER_FAILING_VERSION, "engine_after", "CREATE TABLE engine_after (id bigint PRIMARY KEY);\n");

    const failed = await up();
    expect(failed.code).not.toBe(0);
    expect(printedBy(failed)).toMatch(new RegExp(`${FAILING_VERSION}_engine_bad/migration.sql:2[\\s\\S]*23502`));
    expect(await snapshot()).toEqual(before);
    // The state keeps the inputs of the last run that succeeded: it does not list the new files.
    const exported = JSON.parse(await project.pulumiOk(["stack", "export", "--stack", "local"])) as {
      deployment: { resources: { urn: string; inputs?: unknown; outputs?: unknown }[] };
    };
    const apply = JSON.stringify(exported.deployment.resources.find((r) => r.urn.endsWith("::migration-apply")));
    expect(apply).toContain(`MIGRATION_${NEW_VERSION}`);
    expect(apply).not.toContain(`MIGRATION_${FAILING_VERSION}`);
    expect(apply).not.toContain(`MIGRATION_${AFTER_FAILING_VERSION}`);

    // Nothing changed, so the engine runs the command again (the same diff): still failing.
    const again = await up();
    expect(again.code).not.toBe(0);
    expect(printedBy(again)).toMatch(/23502/);

    await writeFile(failing, "INSERT INTO engine_note (id, note) VALUES (1, 'fixed');\n");
    const fixed = await up();
    expect(fixed.code, printedBy(fixed)).toBe(0);
    const after = await snapshot();
    expect(after.ledger.map((r) => r.version).slice(-2)).toEqual([FAILING_VERSION, AFTER_FAILING_VERSION]);
    expect(after.ledger.slice(0, before.ledger.length)).toEqual(before.ledger);
    expect(after.tables).toContain("public.engine_after");
  });

  test("8. a replaced database: every file runs again on the new one", async () => {
    const old = await snapshot();
    const replacement = await stack.startServer("replacement");
    await stack.pointAt(replacement);
    const steps = await preview();
    expect(steps.filter((s) => urnName(s.urn) === "migration-apply").map((s) => s.op)).toEqual(["replace"]);

    const run = await up();
    expect(run.code, printedBy(run)).toBe(0);
    server = replacement;
    const fresh = await snapshot();
    expect(fresh.ledger.map((r) => r.version)).toEqual(await migrationVersions());
    expect(fresh.roles).toEqual(["app", "auditor", "migrator"]);
    // The old database is left as it was (its roles and data were released, not dropped).
    expect(await snapshot(stack.first)).toEqual(old);
  });

  test("9. destroy empties the state and leaves schema, data, ledger and roles", async () => {
    const before = await snapshot();
    await project.pulumiOk(["destroy", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
    const state = JSON.parse(await project.pulumiOk(["stack", "export", "--stack", "local"])) as { deployment: { resources?: unknown[] } };
    expect(state.deployment.resources ?? []).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });
});

async function findFiles(dir: string, keep: (file: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await findFiles(full, keep)));
    else if (keep(full)) out.push(full);
  }
  return out;
}
