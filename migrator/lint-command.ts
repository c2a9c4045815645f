import { statusOf, type MigratorContext } from "./commands.js";
import { withClientWhile } from "./connection.js";
import type { Problem } from "./errors.js";
import { readMigrationSetWithProblems, type MigrationSet } from "./files.js";
import { readLedger } from "./ledger.js";
import { viewAdoption } from "./prisma-adopt.js";
import { DEFAULT_LINT_MAJOR, lintMigrations, type LintFinding } from "./lint.js";
import { selectForLint, type LintScope } from "./lint-scope.js";
import { serverVersionNum } from "./server-version.js";
import { majorOf } from "./version-rules.js";

export interface LintRequest {
  /** `--all`: every file, whatever is applied. */
  all: boolean;
  /** `--since FOLDER`: the files after it, with no database. */
  since?: string;
  /** `--pg-version`: the major to judge for when no database says it. */
  pgMajor?: number;
}

export interface LintReport {
  /** The database whose ledger said what is pending (none with --all, --since, or no database named). */
  database?: string;
  pgMajor: number;
  scope: LintScope["kind"];
  /** Which files, how many of the set's, for which major and why, in one line. */
  says: string;
  /** The files linted, relative to the set's folder. */
  linted: string[];
  findings: LintFinding[];
  errors: number;
  warnings: number;
  /** Problems of the set (exit 2): every file that could still be read was linted. */
  problems: Problem[];
}

async function finish(set: MigrationSet, problems: Problem[], scope: LintScope, pgMajor: number, database: string | undefined): Promise<LintReport> {
  const selection = selectForLint(set, scope);
  const findings = await lintMigrations(set, { pgMajor }, selection.files);
  const errors = findings.filter((f) => f.level === "error").length;
  return {
    ...(database === undefined ? {} : { database }),
    pgMajor,
    scope: selection.scope,
    says: `${selection.what} for PostgreSQL ${pgMajor}${selection.why ? ` (${selection.why})` : ""}`,
    linted: selection.files.map((f) => f.relativePath),
    findings,
    errors,
    warnings: findings.length - errors,
    problems,
  };
}

/**
 * `lint`: what a change adds, by default. Against a database (named as for every verb), the files
 * its ledger lacks, judged for its server's major; with no database, `--since FOLDER` the files after
 * it, else every file (all are pending on a new database). `--all` lints every file in any case.
 * A set with problems still has every readable file linted; the problems come back with the findings.
 */
export async function lintCommand(ctx: MigratorContext, request: LintRequest): Promise<LintReport> {
  const read = () => readMigrationSetWithProblems(ctx.dir);
  if (request.all || request.since !== undefined || !ctx.target) {
    const { set, problems } = await read();
    const scope: LintScope =
      request.since !== undefined
        ? { kind: "since", folder: request.since }
        : {
            kind: "all",
            why: request.all ? "--all" : "no database named: every file is pending on a new one; name a database, or --since FOLDER, to lint what a change adds",
          };
    return finish(set, problems, scope, request.pgMajor ?? DEFAULT_LINT_MAJOR, undefined);
  }
  const target = ctx.target;
  // The connection closes before squawk runs: lint holds no session while it reads files.
  const { set, problems, pending, major } = await withClientWhile(target, read, async (client, { set, problems }) => {
    const ledger = await readLedger(client, ctx.ledger);
    const major = majorOf(await serverVersionNum(client));
    // The planner's own rule says what is pending; an edited applied file is not pending (status names it),
    // nor is one Prisma finished on a database not adopted yet (apply adopts it, never runs it).
    const adoption = await viewAdoption(client, set, ledger, {});
    const pending = new Set(statusOf(set, ledger, {}, target.display, adoption).pending.map((p) => p.folder));
    return { set, problems, pending, major };
  });
  return finish(set, problems, { kind: "pending", pending, from: `not in the ledger of ${target.display}` }, major, target.display);
}
