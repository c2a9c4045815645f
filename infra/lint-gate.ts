/**
 * The program's lint gate: the migrator's lint findings (migrator/lint.ts) go to the Pulumi log,
 * and error-level ones stop the program before anything is created when the stack says so.
 */
import * as pulumi from "@pulumi/pulumi";
import type { FailOrWarn } from "../stacks/index.js";
import type { MigrationSet } from "../migrator/files.js";
import { lintMigrations, type LintFinding } from "../migrator/lint.js";

/** Where lint findings go; Pulumi's log in the program, a recorder in tests. */
export interface LintLog {
  warn(message: string): void;
  error(message: string): void;
}

/** "sql/migrations/0_init/migration.sql:12:5: error require-concurrent-index-creation: ... (help)" */
export function formatFinding(configuredDir: string, f: LintFinding): string {
  const dir = configuredDir.replace(/\/+$/, "");
  return `${dir}/${f.file}:${f.line}:${f.column}: ${f.level} ${f.rule}: ${f.message}${f.help ? ` (${f.help})` : ""}`;
}

/**
 * Reports every finding (warnings as Pulumi warnings; error-level ones as warnings, or as
 * errors when `lintErrors` is "fail") and returns the message that must stop the program,
 * if any. Pure apart from the log, so it is tested without squawk.
 */
export function reportFindings(findings: LintFinding[], configuredDir: string, lintErrors: FailOrWarn, log: LintLog): string | undefined {
  const errors = findings.filter((f) => f.level === "error");
  for (const f of findings) {
    const line = formatFinding(configuredDir, f);
    if (f.level === "error" && lintErrors === "fail") log.error(line);
    else log.warn(line);
  }
  if (errors.length > 0 && lintErrors === "fail") {
    return (
      `the migration set has ${errors.length} error-level lint finding${errors.length === 1 ? "" : "s"} (listed above), ` +
      `which this stack does not deploy: fix the migration, or add a new one that does it safely`
    );
  }
  return undefined;
}

const pulumiLog: LintLog = {
  warn: (m) => void pulumi.log.warn(m),
  error: (m) => void pulumi.log.error(m),
};

/**
 * Lints the set with the migrator's lint (squawk, each file in its real transaction mode),
 * at preview and at up alike. A failure of the linter itself is treated like an error-level
 * finding: a stack that fails on findings cannot deploy an unlinted set.
 */
export async function lintSet(set: MigrationSet, configuredDir: string, lintErrors: FailOrWarn, log: LintLog = pulumiLog): Promise<void> {
  let findings: LintFinding[];
  try {
    findings = await lintMigrations(set);
  } catch (error) {
    const message = `linting ${configuredDir} failed: ${(error as Error).message}`;
    if (lintErrors === "fail") throw new pulumi.RunError(message);
    log.warn(message);
    return;
  }
  const stop = reportFindings(findings, configuredDir, lintErrors, log);
  if (stop) throw new pulumi.RunError(stop);
}
