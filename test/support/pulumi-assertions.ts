/** Checks every stack shares: the migration chain, the verification, and that no secret leaks. */
import { PRIVILEGES_ENV } from "../../migrator/privileges/intent.js";
import path from "node:path";
import { expect } from "vitest";
import { readMigrationSet } from "../../migrator/files.js";
import { allStrings, isSecretValue, reveal, ROOT, type ProgramRun, type Registered } from "./pulumi.js";

export const COMMAND = "command:local:Command";

export function migrationCommands(run: ProgramRun): Registered[] {
  return run.ofType(COMMAND).filter((c) => c.name.startsWith("migration-"));
}

/** The one command that applies the set. */
export function applyCommand(run: ProgramRun): Registered {
  const commands = migrationCommands(run);
  expect(commands.map((c) => c.name)).toEqual(["migration-apply"]);
  return commands[0]!;
}

/**
 * One command applies the whole set: a stable command line (no per-file detail, no secret), the
 * manifest (one MIGRATION_<version> entry per file: name, transaction mode, sha256) and the
 * secret connection in its environment, the database identity as its trigger.
 */
export async function expectMigrationChain(run: ProgramRun, migrationsDir: string, opts: { identity: string; dependsOn: string[] }): Promise<void> {
  const set = await readMigrationSet(path.resolve(ROOT, migrationsDir));
  const c = applyCommand(run);
  // --fail-on-drift with failOnDrift (prod's default; test/stack-fail-on-drift.test.ts checks which stacks).
  expect(String(c.inputs.create)).toMatch(new RegExp(`^node dist/migrate\\.js apply --dir ${migrationsDir} --expect-manifest (--fail-on-drift )?--ledger-schema \\S+`));
  expect(String(c.inputs.create)).not.toMatch(/[0-9a-f]{64}/);
  expect(c.inputs.update).toBeUndefined();
  expect(c.inputs.delete).toBeUndefined();
  expect(c.inputs.dir).toBeUndefined();
  expect(c.inputs.logging).toBe("stdoutAndStderr");
  expect(c.inputs.addPreviousOutputInEnv).toBe(false);
  expect(reveal(c.inputs.triggers)).toEqual([opts.identity]);

  const env = reveal<Record<string, string>>(c.inputs.environment);
  expect(env.DATABASE_URL).toMatch(/^postgresql:\/\/migrator:/);
  // The privilege intent rides beside the manifest (infra/privilege-intent.ts); the rest is one entry per file.
  expect(JSON.parse(String(env[PRIVILEGES_ENV]))).toMatchObject({
    owner: "migrator",
    grants: expect.arrayContaining([expect.objectContaining({ table: "PointTransaction", privileges: ["INSERT", "SELECT"] })]),
  });
  const manifest = Object.fromEntries(Object.entries(env).filter(([k]) => k !== "DATABASE_URL" && k !== PRIVILEGES_ENV));
  expect(manifest).toEqual(
    Object.fromEntries(set.files.map((f) => [`MIGRATION_${f.version}`, `${f.name} ${f.transactional ? "transaction" : "no-transaction"} sha256:${f.checksum}`])),
  );
  for (const dep of opts.dependsOn) expect(c.dependencies, `${c.name} depends on ${dep}`).toContain(dep);
}

/** The verification runs after the last migration and the grants made after it. */
export function expectVerificationAfterMigrations(run: ProgramRun, identity: string): Registered {
  const commands = migrationCommands(run);
  const report = run.named(COMMAND, "verification-report");
  expect(String(report.inputs.create)).toMatch(/^node dist\/stack-report\.js --dir \S+ --verify-dir \S+ --ledger-schema migrator$/);
  expect(report.dependencies).toContain(`${COMMAND}::${commands.at(-1)!.name}`);
  for (const grant of run.ofType("postgresql:index/grant:Grant").filter((g) => /append-only|auditor-tables/.test(g.name))) {
    expect(grant.dependencies).toContain(`${COMMAND}::${commands.at(-1)!.name}`);
    expect(report.dependencies).toContain(`postgresql:index/grant:Grant::${grant.name}`);
  }
  expect(reveal(report.inputs.triggers)).toEqual([identity]);
  expect(report.inputs.logging).toBe("none");
  expect(report.inputs.addPreviousOutputInEnv).toBe(false);
  return report;
}

/** No password in any command line, output, or non-secret input. */
export function expectNoSecretLeaks(run: ProgramRun, secrets: string[]): void {
  for (const r of run.resources) {
    if (r.type === COMMAND) {
      for (const s of secrets) expect(String(r.inputs.create), `${r.name} command line`).not.toContain(s);
    }
    // Anything that holds a secret holds it wrapped as a secret.
    for (const [key, value] of Object.entries(r.inputs)) {
      if (isSecretValue(value)) continue;
      for (const s of secrets)
        expect(
          allStrings(value).some((v) => v.includes(s)),
          `${r.type}::${r.name}.${key} holds a secret in clear`,
        ).toBe(false);
    }
  }
  for (const s of secrets) {
    expect(
      allStrings(run.exports).some((v) => v.includes(s)),
      "an output holds a secret",
    ).toBe(false);
  }
}
