/**
 * The program's lint gate: the migrator's lint findings (migrator/lint.ts) on the files this `up`
 * would apply go to the Pulumi log, and error-level ones stop the program before anything is
 * created when the stack says so.
 */
import * as pulumi from "@pulumi/pulumi";
import type { FailOrWarn, StackSettings } from "../stacks/index.js";
import type { MigrationSet } from "../migrator/files.js";
import { DEFAULT_LINT_MAJOR, lintMigrations, type LintFinding } from "../migrator/lint.js";
import { selectForLint, type LintSelection } from "../migrator/lint-scope.js";
import { majorOfServerVersion, type PreviousRun } from "./previous-run.js";

/** Where lint findings go; Pulumi's log in the program, a recorder in tests. */
export interface LintLog {
  info(message: string): void;
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
  info: (m) => void pulumi.log.info(m),
  warn: (m) => void pulumi.log.warn(m),
  error: (m) => void pulumi.log.error(m),
};

/** What the gate lints and for which major: the target's, and the files this `up` would apply. */
export interface LintTarget {
  selection: LintSelection;
  pgMajor: number;
}

/**
 * The files the stack's last state does not list as applied (all of them for a stack with no
 * successful `up`), judged for the stack's major: its `engineVersion` on RDS and Aurora; for an
 * existing server, the version its last verification saw, else 17 (the embedded server's).
 */
export function lintTarget(set: MigrationSet, settings: StackSettings, previous: PreviousRun | undefined): LintTarget {
  const pgMajor = settings.environment === "local" ? (majorOfServerVersion(previous?.serverVersion) ?? DEFAULT_LINT_MAJOR) : settings.rds.engineMajor;
  const selection = previous
    ? selectForLint(set, {
        kind: "pending",
        pending: new Set(set.files.filter((f) => !previous.applied.has(f.folder)).map((f) => f.folder)),
        from: "not in the ledger of this stack's last up",
      })
    : selectForLint(set, { kind: "all", why: "this stack has no successful up yet" });
  return { selection, pgMajor };
}

/**
 * Lints what this `up` would apply with the migrator's lint (squawk, each file in its real
 * transaction mode), at preview and at up alike: a file applied long ago cannot be changed, so a
 * finding in it could only block every deploy after it. A failure of the linter itself is treated
 * like an error-level finding: a stack that fails on findings cannot deploy an unlinted file.
 */
export async function lintSet(set: MigrationSet, configuredDir: string, lintErrors: FailOrWarn, target: LintTarget, log: LintLog = pulumiLog): Promise<void> {
  const { selection, pgMajor } = target;
  if (selection.files.length === 0) return;
  log.info(`lint: ${selection.what} for PostgreSQL ${pgMajor}${selection.why ? ` (${selection.why})` : ""}`);
  let findings: LintFinding[];
  try {
    findings = await lintMigrations(set, { pgMajor }, selection.files);
  } catch (error) {
    const message = `linting ${configuredDir} failed: ${(error as Error).message}`;
    if (lintErrors === "fail") throw new pulumi.RunError(message);
    log.warn(message);
    return;
  }
  const stop = reportFindings(findings, configuredDir, lintErrors, log);
  if (stop) throw new pulumi.RunError(stop);
}
