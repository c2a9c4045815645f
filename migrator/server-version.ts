import type pg from "pg";
import { ExitCode, formatProblem, NOTHING_APPLIED, type Problem } from "./errors.js";
import type { Step } from "./plan.js";
import { displayVersion, majorOf } from "./version-rules.js";

/** The server's version as a number (130023 for 13.23), known once connected. */
export async function serverVersionNum(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Number(rows[0]!.v);
}

/**
 * Statements of the pending files that this server is too old to run, each with its file, line and
 * the version it needs. Pure. Applied and baselined files are not looked at: they do not run.
 */
export function tooNewForServer(steps: readonly Step[], serverVersion: number): Problem[] {
  const major = majorOf(serverVersion);
  const problems: Problem[] = [];
  for (const step of steps) {
    if (step.action !== "apply") continue;
    for (const statement of step.file.statements) {
      const needs = statement.requires;
      if (needs && needs.major > major) {
        problems.push({
          file: step.file.relativePath,
          line: statement.line,
          column: statement.column,
          message: `${needs.feature} needs PostgreSQL ${needs.major} or later; this server is ${displayVersion(serverVersion)}`,
        });
      }
    }
  }
  return problems;
}

/** The pending files use what this server does not have: found before anything ran (exit 2, as a bad set). */
export class ServerTooOldError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly serverVersion: number,
    readonly problems: Problem[],
    readonly consequence: string = NOTHING_APPLIED,
  ) {
    super(
      `the pending migrations need a newer PostgreSQL than this server's ${displayVersion(serverVersion)}${consequence} ` +
        `(upgrade the server, or rewrite those statements for it: they have not run, so editing them is fine):\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join("\n"),
    );
    this.name = "ServerTooOldError";
  }
}

/** Throws ServerTooOldError when any pending statement needs a newer server. */
export function assertServerCanRun(steps: readonly Step[], serverVersion: number): void {
  const problems = tooNewForServer(steps, serverVersion);
  if (problems.length > 0) throw new ServerTooOldError(serverVersion, problems);
}
