/**
 * The local stack under the real Pulumi engine (issue 5): the CLI, the Node.js language host and
 * the command and postgresql providers built by scripts/build-pulumi.sh, a file backend with a
 * passphrase secrets provider, and an embedded PostgreSQL 17 as the "existing server".
 * The steps build on each other, so they run in order in one file.
 */
import { appendFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startEmbedded, type EmbeddedServer } from "../../infra/migrator/embedded.js";
import { changes, engineProject, missingTools, urnName, urnType, type EngineProject } from "./support.js";

const DATABASE = "engine_app";
const MIGRATOR_PASSWORD = "engine-migrator-password-7f3a9c";
const NEW_VERSION = "20990101000000";

let server: EmbeddedServer;
let project: EngineProject;
let superuserPassword: string;

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.url(DATABASE) });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** What the database holds: the ledger and every table outside the system schemas. */
async function snapshot(): Promise<{ ledger: { version: string; checksum: string; applied_at: string }[]; tables: string[] }> {
  const tables = (
    await query<{ t: string }>(
      "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
  ).map((r) => r.t);
  const ledger = tables.includes("migrator.applied_migrations")
    ? await query<{ version: string; checksum: string; applied_at: string }>(
        "SELECT version, checksum, applied_at::text FROM migrator.applied_migrations ORDER BY version",
      )
    : [];
  return { ledger, tables };
}

async function migrationVersions(): Promise<string[]> {
  const entries = await readdir(path.join(project.dir, "sql/migrations"), { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name.split("_")[0]!).sort();
}

async function preview(): Promise<ReturnType<typeof changes>> {
  return changes(await project.pulumiOk(["preview", "--json", "--stack", "local"]));
}

const opsByName = (steps: ReturnType<typeof changes>) => steps.map((s) => `${s.op} ${urnType(s.urn)} ${urnName(s.urn)}`).sort();

beforeAll(async () => {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(`the Pulumi tools are not all built, so the engine cannot run the local stack:\n  ${missing.join("\n  ")}`);
  }
  server = await startEmbedded({ rootDir: path.join(await import("node:os").then((os) => os.tmpdir()), `pulumi-engine-pg-${process.pid}`), persistent: false });
  superuserPassword = decodeURIComponent(new URL(server.url()).password);
  const admin = new pg.Client({ connectionString: server.url("postgres") });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();

  project = await engineProject();
  await project.pulumiOk(["stack", "init", "local", "--secrets-provider", "passphrase"]);
  const set = (key: string, value: string, secret = false) =>
    project.pulumiOk(["config", "set", ...(secret ? ["--secret"] : []), `pg-migrations:${key}`, value, "--stack", "local"]);
  await set("localPort", String(server.port));
  await set("localDatabase", DATABASE);
  await set("localPassword", superuserPassword, true);
  await set("migratorPassword", MIGRATOR_PASSWORD, true);
}, 180_000);

afterAll(async () => {
  await project?.remove();
  await server?.stop();
});

describe("the local stack under the real Pulumi engine", () => {
  test("1. preview lists one create per migration file plus the access and verification resources, and applies nothing", async () => {
    const steps = await preview();
    const versions = await migrationVersions();
    const creates = steps.filter((s) => s.op === "create");
    expect(creates.length).toBe(steps.length);
    const commands = creates.filter((s) => urnType(s.urn) === "command:local:Command").map((s) => urnName(s.urn));
    expect(commands.filter((n) => n.startsWith("migration-")).sort()).toEqual(versions.map((v) => `migration-${v}`));
    expect(commands).toContain("verification-report");
    expect(creates.map((s) => urnType(s.urn))).toEqual(expect.arrayContaining(["pulumi:providers:postgresql", "postgresql:index/role:Role"]));
    expect(creates.filter((s) => urnType(s.urn).startsWith("aws:") || urnType(s.urn) === "pulumi:providers:aws")).toEqual([]);
    expect(await snapshot()).toEqual({ ledger: [], tables: [] });
    expect(await query("SELECT rolname FROM pg_roles WHERE rolname = 'migrator'")).toEqual([]);
  });

  test("2. up applies the set; outputs show every check passing and the ledger; secrets stay secret", async () => {
    await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
    const versions = await migrationVersions();
    expect((await snapshot()).ledger.map((r) => r.version)).toEqual(versions);

    const outputs = JSON.parse(await project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as {
      migrations: { version: string }[] | { applied: { version: string }[] };
      verification: { ok: boolean; failed: number; checks: { name: string; ok: boolean }[] };
    };
    expect(outputs.verification.ok).toBe(true);
    expect(outputs.verification.failed).toBe(0);
    expect(outputs.verification.checks.length).toBeGreaterThan(0);
    expect(outputs.verification.checks.filter((c) => !c.ok)).toEqual([]);
    expect(JSON.stringify(outputs.migrations)).toContain(versions.at(-1)!);

    // Nothing secret without --show-secrets: not in outputs, config, or the state export.
    const plain = [
      JSON.stringify(outputs),
      await project.pulumiOk(["config", "--json", "--stack", "local"]),
      await project.pulumiOk(["stack", "export", "--stack", "local"]),
      await readFile(path.join(project.dir, "Pulumi.local.yaml"), "utf8"),
    ].join("\n");
    for (const secret of [superuserPassword, MIGRATOR_PASSWORD]) expect(plain).not.toContain(secret);
    const shown = await project.pulumiOk(["stack", "export", "--show-secrets", "--stack", "local"]);
    expect(shown).toContain(MIGRATOR_PASSWORD);

    // The state file itself, as the file backend keeps it.
    const stateFiles = await findFiles(project.stateDir, (f) => f.endsWith(".json") || f.endsWith(".json.gz"));
    const stackState = stateFiles.find((f) => /stacks\/.*local\.json$/.test(f));
    expect(stackState, `no local.json among ${stateFiles.join(", ")}`).toBeDefined();
    const state = await readFile(stackState!, "utf8");
    expect(state).toContain("migration-");
    for (const secret of [superuserPassword, MIGRATOR_PASSWORD]) expect(state).not.toContain(secret);
  });

  test("3. a second preview with --expect-no-changes passes", async () => {
    const r = await project.pulumi(["preview", "--expect-no-changes", "--stack", "local"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  test("4. a new migration file: preview shows exactly one create; up applies only it", async () => {
    const before = await snapshot();
    const dir = path.join(project.dir, "sql/migrations", `${NEW_VERSION}_engine_note`);
    await mkdir(dir);
    await writeFile(path.join(dir, "migration.sql"), "CREATE TABLE engine_note (id bigint PRIMARY KEY, note text NOT NULL);\n");

    const steps = await preview();
    expect(steps.filter((s) => s.op === "create").map((s) => urnName(s.urn))).toEqual([`migration-${NEW_VERSION}`]);
    expect(steps.filter((s) => s.op === "delete" || s.op === "replace" || s.op === "create-replacement")).toEqual([]);

    await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 300_000 });
    const after = await snapshot();
    expect(after.ledger.slice(0, -1)).toEqual(before.ledger);
    expect(after.ledger.at(-1)!.version).toBe(NEW_VERSION);
    expect(after.tables).toContain("public.engine_note");
  });

  test("5. an applied file edited: preview shows that one resource changing; up fails with the migrator's message, the database unchanged", async () => {
    const before = await snapshot();
    await appendFile(
      path.join(project.dir, "sql/migrations", `${NEW_VERSION}_engine_note`, "migration.sql"),
      "CREATE TABLE engine_edit (id bigint PRIMARY KEY);\n",
    );

    const steps = await preview();
    const touched = steps.filter((s) => urnType(s.urn) === "command:local:Command" && urnName(s.urn).startsWith("migration-"));
    expect(opsByName(touched)).toEqual([expect.stringMatching(new RegExp(`^(update|replace) command:local:Command migration-${NEW_VERSION}$`))]);

    const up = await project.pulumi(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 300_000 });
    expect(up.code).not.toBe(0);
    expect(`${up.stdout}\n${up.stderr}`).toMatch(new RegExp(`${NEW_VERSION}[\\s\\S]*was edited after it was applied`));
    expect(await snapshot()).toEqual(before);
  });

  test("6. destroy removes the stack's resources and leaves the schema and data", async () => {
    const before = await snapshot();
    await project.pulumiOk(["destroy", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 300_000 });
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
