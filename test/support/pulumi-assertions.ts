/** Checks every stack shares: the migration chain, the verification, and that no secret leaks. */
import path from "node:path";
import { expect } from "vitest";
import { readMigrationSet } from "../../infra/migrator/files.js";
import { allStrings, isSecretValue, reveal, ROOT, type ProgramRun, type Registered } from "./pulumi.js";

export const COMMAND = "command:local:Command";

export function migrationCommands(run: ProgramRun): Registered[] {
  return run.ofType(COMMAND).filter((c) => c.name.startsWith("migration-"));
}

/**
 * One command per file, in the set's order, each depending on the one before and on the
 * given resources; the checksum and transaction mode as inputs; nothing secret in the line.
 */
export async function expectMigrationChain(run: ProgramRun, migrationsDir: string, opts: { identity: string; dependsOn: string[] }): Promise<void> {
  const set = await readMigrationSet(path.resolve(ROOT, migrationsDir));
  const commands = migrationCommands(run);
  expect(commands.map((c) => c.name)).toEqual(set.files.map((f) => `migration-${f.version}`));
  // Registered in order: the provider creates them in this order.
  const registrationOrder = run.resources.filter((r) => r.type === COMMAND && r.name.startsWith("migration-")).map((r) => r.name);
  expect(registrationOrder).toEqual(set.files.map((f) => `migration-${f.version}`));

  for (const [i, file] of set.files.entries()) {
    const c = commands[i]!;
    const create = String(c.inputs.create);
    expect(create).toContain(` apply --dir ${migrationsDir} --only ${file.version} --expect-checksum ${file.checksum}`);
    expect(create.startsWith("node_modules/.bin/tsx infra/migrator/cli.ts apply ")).toBe(true);
    expect(c.inputs.update).toBeUndefined();
    expect(c.inputs.delete).toBeUndefined();
    expect(c.inputs.dir).toBeUndefined();
    expect(c.inputs.logging).toBe("none");
    expect(c.inputs.addPreviousOutputInEnv).toBe(false);
    expect(reveal(c.inputs.triggers)).toEqual([opts.identity]);

    // The environment holds the connection as a secret, and what the diff should show in clear.
    expect(isSecretValue(c.inputs.environment)).toBe(true);
    const env = reveal<Record<string, string>>(c.inputs.environment);
    expect(env.DATABASE_URL).toMatch(/^postgresql:\/\/migrator:/);
    expect(env).toMatchObject({
      MIGRATION_FILE: `${migrationsDir}/${file.relativePath}`,
      MIGRATION_CHECKSUM: file.checksum,
      MIGRATION_TRANSACTION: file.transactional ? "transaction" : "no-transaction",
    });

    const previous = commands[i - 1];
    if (previous) expect(c.dependencies).toContain(`${COMMAND}::${previous.name}`);
    for (const dep of opts.dependsOn) expect(c.dependencies, `${c.name} depends on ${dep}`).toContain(dep);
  }
}

/** The verification runs after the last migration and the grants made after it. */
export function expectVerificationAfterMigrations(run: ProgramRun, identity: string): Registered {
  const commands = migrationCommands(run);
  const report = run.named(COMMAND, "verification-report");
  expect(String(report.inputs.create)).toMatch(/^node_modules\/\.bin\/tsx infra\/report\.ts --dir \S+ --verify-dir \S+ --ledger-schema migrator$/);
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
      for (const s of secrets) expect(allStrings(value).some((v) => v.includes(s)), `${r.type}::${r.name}.${key} holds a secret in clear`).toBe(false);
    }
  }
  for (const s of secrets) {
    expect(allStrings(run.exports).some((v) => v.includes(s)), "an output holds a secret").toBe(false);
  }
}
