/**
 * The audit report of a real stack: `pulumi up` of the local stack (the real engine, an embedded
 * PostgreSQL 17 as the existing server), then `npm run audit -- --stack local` (node dist/audit.js,
 * the bundle the program built in the project copy) with the CLI's own environment, so the report
 * reads `pulumi stack output --json` and `pulumi stack history --json` from the file backend.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Evidence } from "../../audit/evidence.js";
import { startEmbedded, type EmbeddedServer } from "../../migrator/embedded.js";
import { engineProject, missingTools, type EngineProject } from "./support.js";

const DATABASE = "engine_audit";
const MIGRATOR_PASSWORD = "engine-audit-migrator-password-5d1e";

let server: EmbeddedServer | undefined;
let project: EngineProject;
let scratch: string;

const configSet = (key: string, value: string, secret = false) =>
  project.pulumiOk(["config", "set", ...(secret ? ["--secret"] : []), "--stack", "local", `pg-migrations:${key}`, "--", value]);

beforeAll(async () => {
  const missing = missingTools();
  if (missing.length > 0) throw new Error(`the Pulumi tools are not all built:\n  ${missing.join("\n  ")}`);
  scratch = await mkdtemp(path.join(os.tmpdir(), "pulumi-audit-"));
  // As root the server runs as the postgres user, which must reach its folder.
  await chmod(scratch, 0o755);
  server = await startEmbedded({ rootDir: path.join(scratch, "pg"), persistent: false });
  const admin = new pg.Client({ connectionString: server.url("postgres") });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  project = await engineProject();
  await project.pulumiOk(["stack", "init", "local", "--secrets-provider", "passphrase"]);
  await configSet("localDatabase", DATABASE);
  await configSet("localPort", String(server.port));
  await configSet("localPassword", decodeURIComponent(new URL(server.url()).password), true);
  await configSet("migratorPassword", MIGRATOR_PASSWORD, true);
  await project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
}, 900_000);

afterAll(async () => {
  await project?.remove();
  await server?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test("npm run audit -- --stack local: the report of the stack the engine just updated", async () => {
  const out = path.join(scratch, "report");
  const { stdout } = await promisify(execFile)("node", ["dist/audit.js", "--stack", "local", "--out", out], { cwd: project.dir, env: project.env });
  expect(stdout).toMatch(/local: controls do not apply; \d+ checks passed, 0 failed/);

  const evidence = JSON.parse(await readFile(path.join(out, "evidence.json"), "utf8")) as Evidence;
  const files = (await readdir(path.join(project.dir, "sql/migrations"), { withFileTypes: true })).filter((e) => e.isDirectory());
  expect(evidence).toMatchObject({ stack: "local", environment: "local", controls: { applies: false, rows: [] }, verification: { ok: true, failed: 0 } });
  expect(evidence.migrations!.applied).toHaveLength(files.length);
  expect(evidence.database.endpoint).toBe(`127.0.0.1:${server!.port}`);
  // The update that `up` made, from the file backend's history; the project copy is no git checkout.
  const [last] = JSON.parse(await project.pulumiOk(["stack", "history", "--json", "--stack", "local"])) as { version: number; startTime: string; endTime: string }[];
  expect(evidence.source.pulumiUpdate).toMatchObject({ version: last!.version, kind: "update", result: "succeeded", startTime: last!.startTime, endTime: last!.endTime });
  expect(evidence.source.gitCommit).toBe("unknown");
  expect(evidence.redactions).toEqual([]);

  expect(execFileSync("sha256sum", ["-c", "evidence.json.sha256"], { cwd: out, encoding: "utf8" })).toBe("evidence.json: OK\n");
  const page = await readFile(path.join(out, "index.html"), "utf8");
  expect(page).toContain("The controls do not apply");
  for (const row of evidence.migrations!.applied) expect(page).toContain(`data-migration="${row.version}"`);
  const passwords = [MIGRATOR_PASSWORD, decodeURIComponent(new URL(server!.url()).password)];
  for (const text of [page, JSON.stringify(evidence), stdout]) for (const p of passwords) expect(text).not.toContain(p);
});
