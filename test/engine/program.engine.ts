/**
 * The program under the real Pulumi CLI and Node.js language host, up to the providers: it needs
 * only those two tools, so it runs even where the command and postgresql providers could not be
 * built (local-stack.engine.ts needs those and says so).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { engineProject, missingTools, type EngineProject } from "./support.js";

const LOCAL_PASSWORD = "engine-local-password-91c2";
const MIGRATOR_PASSWORD = "engine-migrator-password-7f3a9c";

let project: EngineProject;

beforeAll(async () => {
  const missing = missingTools().filter((m) => m.startsWith("pulumi:") || m.startsWith("pulumi-language-nodejs:"));
  if (missing.length > 0) throw new Error(`the Pulumi CLI or its Node.js language host is not built:\n  ${missing.join("\n  ")}`);
  project = await engineProject();
  await project.pulumiOk(["stack", "init", "local", "--secrets-provider", "passphrase"]);
  await project.pulumiOk(["config", "set", "--secret", "pg-migrations:localPassword", LOCAL_PASSWORD, "--stack", "local"]);
  await project.pulumiOk(["config", "set", "--secret", "pg-migrations:migratorPassword", MIGRATOR_PASSWORD, "--stack", "local"]);
}, 120_000);

afterAll(async () => {
  await project?.remove();
});

describe("the program under the real Pulumi CLI and language host", () => {
  test("secret config is ciphertext in Pulumi.local.yaml and shown only with --show-secrets", async () => {
    const file = await readFile(path.join(project.dir, "Pulumi.local.yaml"), "utf8");
    expect(file).toMatch(/pg-migrations:migratorPassword:\s+secure: v1:/);
    expect(file).not.toContain(MIGRATOR_PASSWORD);
    expect(file).not.toContain(LOCAL_PASSWORD);
    // The repository's settings for the local stack are kept (host, user, database, sslMode).
    expect(file).toContain("pg-migrations:localHost: 127.0.0.1");

    const plain = JSON.parse(await project.pulumiOk(["config", "--json", "--stack", "local"])) as Record<string, { value?: string; secret: boolean }>;
    expect(plain["pg-migrations:migratorPassword"]).toEqual({ secret: true });
    const shown = JSON.parse(await project.pulumiOk(["config", "--json", "--show-secrets", "--stack", "local"])) as Record<string, { value?: string }>;
    expect(shown["pg-migrations:migratorPassword"]?.value).toBe(MIGRATOR_PASSWORD);
  });

  test("preview runs the program (infra/index.ts, bundled as dist/program.js) and registers the stack; no AWS plugin is asked for", async () => {
    const r = await project.pulumi(["preview", "--stack", "local"]);
    const out = `${r.stdout}\n${r.stderr}`;
    // The program got past the settings, the set's parse and lint: its components were registered.
    expect(out).toMatch(/\+\s+pgmigrations:infra:DatabaseAccess\s+access\s+create/);
    expect(out).toMatch(/\+\s+pgmigrations:infra:Migrations\s+migration\s+create/);
    expect(out).not.toMatch(/Unknown file extension|unhandled exception|SyntaxError/);
    expect(out).not.toMatch(/\baws\b/i);
    const unbuilt = missingTools().map((m) => m.slice(0, m.indexOf(":")));
    if (unbuilt.length === 0) {
      expect(r.code, out).toBe(0);
    } else {
      // Where a provider could not be built, the engine stops at the first resource that needs
      // it, and the plugin it names must be one of the tools not built, nothing else.
      expect(r.code).not.toBe(0);
      const plugins = [...out.matchAll(/no resource plugin '([^']+)'/g)].map((m) => m[1]!);
      expect(plugins.length, out).toBeGreaterThan(0);
      for (const plugin of plugins) expect(unbuilt).toContain(plugin);
    }
  });

  test("a configuration problem stops preview with the program's message, no stack trace, nothing to create", async () => {
    const stackFile = path.join(project.dir, "Pulumi.local.yaml");
    const saved = await readFile(stackFile, "utf8");
    try {
      await project.pulumiOk(["config", "set", "pg-migrations:sslMode", "sometimes", "--stack", "local"]);
      const r = await project.pulumi(["preview", "--stack", "local"]);
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.code).not.toBe(0);
      expect(out).toContain('the configuration of stack "local" has 1 problem');
      expect(out).toMatch(/pg-migrations:sslMode: .*sometimes/);
      expect(out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(out).not.toContain("pgmigrations:infra:Migrations");
    } finally {
      await writeFile(stackFile, saved);
    }
  });
});
