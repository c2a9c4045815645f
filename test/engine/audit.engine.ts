/**
 * The audit report of a real stack: `pulumi up` of the local stack (the real engine, an embedded
 * PostgreSQL 17 as the existing server), then `npm run audit -- --stack local` (node dist/audit.js,
 * the bundle the program built in the project copy) with the CLI's own environment, so the report
 * reads `pulumi stack output --json` and `pulumi stack history --json` from the file backend.
 */
import { execFile, execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Evidence } from "../../audit/evidence.js";
import { localStack, type LocalStack } from "./local-stack-fixture.js";

let stack: LocalStack;

beforeAll(async () => {
  stack = await localStack({ database: "engine_audit", migratorPassword: "engine-audit-migrator-password-5d1e" });
  await stack.project.pulumiOk(["up", "--yes", "--skip-preview", "--stack", "local"], { timeoutMs: 600_000 });
}, 900_000);

afterAll(() => stack?.remove());

test("npm run audit -- --stack local: the report of the stack the engine just updated", async () => {
  const { project, first: server } = stack;
  const out = path.join(stack.scratch, "report");
  const { stdout } = await promisify(execFile)("node", ["dist/audit.js", "--stack", "local", "--out", out], { cwd: project.dir, env: project.env });
  expect(stdout).toMatch(/local: controls do not apply; \d+ checks passed, 0 failed/);

  const evidence = JSON.parse(await readFile(path.join(out, "evidence.json"), "utf8")) as Evidence;
  const files = (await readdir(path.join(project.dir, "sql/migrations"), { withFileTypes: true })).filter((e) => e.isDirectory());
  expect(evidence).toMatchObject({ stack: "local", environment: "local", controls: { applies: false, rows: [] }, verification: { ok: true, failed: 0 } });
  expect(evidence.migrations!.applied).toHaveLength(files.length);
  expect(evidence.database.endpoint).toBe(`127.0.0.1:${server.port}`);
  // The update that `up` made, from the file backend's history; the project copy is no git checkout.
  const [last] = JSON.parse(await project.pulumiOk(["stack", "history", "--json", "--stack", "local"])) as { version: number; startTime: string; endTime: string }[];
  expect(evidence.source.pulumiUpdate).toMatchObject({ version: last!.version, kind: "update", result: "succeeded", startTime: last!.startTime, endTime: last!.endTime });
  expect(evidence.source.gitCommit).toBe("unknown");
  expect(evidence.redactions).toEqual([]);

  expect(execFileSync("sha256sum", ["-c", "evidence.json.sha256"], { cwd: out, encoding: "utf8" })).toBe("evidence.json: OK\n");
  const page = await readFile(path.join(out, "index.html"), "utf8");
  expect(page).toContain("The controls do not apply");
  for (const row of evidence.migrations!.applied) expect(page).toContain(`data-migration="${row.version}"`);
  for (const text of [page, JSON.stringify(evidence), stdout]) for (const p of stack.secrets()) expect(text).not.toContain(p);
});
