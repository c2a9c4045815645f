import type { ApplyReport, PlanReport, StatusReport } from "./commands.js";
import { formatProblem } from "./errors.js";
import type { MigrationFile } from "./files.js";
import type { LintReport } from "./lint-command.js";
import type { MigratorEvent } from "./reporter.js";
import type { VerifyReport } from "./verify.js";
import { displayVersion } from "./version-rules.js";
import { describeAdoption } from "./prisma-history.js";

const mode = (transactional: boolean) => (transactional ? "transaction" : "no-transaction");
/** What a file of the set says of how it runs, and a note for the forms Prisma writes. */
const fileMode = (file: Pick<MigrationFile, "mode" | "wrapped" | "statements">) =>
  file.statements.length === 0 ? "empty" : file.mode + (file.wrapped ? " (BEGIN … COMMIT dropped)" : "");
const EMPTY_WARNING = "warning: no SQL statements (empty or comments only): recorded as applied, nothing ran";
export const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`);

export interface EventFormat {
  /** List every file applied before this run, not one line for all of them. */
  verbose?: boolean;
}

/** One progress line per engine event; undefined for events that need no line. */
export function formatEvent(e: MigratorEvent, options: EventFormat = {}): string | undefined {
  switch (e.type) {
    case "embedded-started":
      return `embedded PostgreSQL ${e.version.replace(/-.*/, "")} started; data in ${e.dataDir}`;
    case "no-dead-client-check":
      return (
        `note: PostgreSQL ${displayVersion(e.serverVersion)} has no client_connection_check_interval: if this migrator is killed mid-statement, ` +
        `the server runs that statement to its end before it rolls the file back, holding its locks and the migration lock until then ` +
        `(end it sooner with pg_terminate_backend)`
      );
    case "search-path-adjusted":
      return `note: this role's search_path (${e.was}) would put every unqualified object of the files in the ledger's schema "${e.schema}", which has the role's name; the files run with search_path ${e.now}`;
    case "lock-waiting":
      return `waiting for another migrator to finish${e.holder ? ` (${e.holder})` : ""}…`;
    case "lock-acquired":
      return `got the migration lock after ${ms(e.waitedMs)}`;
    case "planned":
      if (e.alreadyApplied.length === 0) return undefined;
      if (options.verbose) {
        return e.alreadyApplied.map((a) => `  ${(a.status === "applied" ? "already" : a.status).padEnd(11)} ${a.folder.padEnd(56)} ${mode(a.transactional)}`).join("\n");
      }
      // A long history is one line; with nothing pending not even that (the summary says it all).
      return e.pending === 0 ? undefined : `  already     ${describeApplied(e.alreadyApplied)} (--verbose lists them)`;
    case "adopted":
      if (options.verbose) return e.files.map((f) => `  adopted     ${f.folder.padEnd(56)} ${fileMode(f).padEnd(15)} (Prisma ran it; recorded, not run)`).join("\n");
      return `  adopted     ${describeAdoption(e.files)}: recorded, none run (--verbose lists them)`;
    case "file-started":
      return undefined;
    case "file-applied":
      if (e.file.statements.length === 0) return `  applied     ${e.file.folder.padEnd(56)} ${"empty".padEnd(15)} ${EMPTY_WARNING}`;
      return `  applied     ${e.file.folder.padEnd(56)} ${fileMode(e.file).padEnd(15)} ${ms(e.durationMs).padStart(9)}`;
    case "file-baselined":
      return `  baselined   ${e.file.folder.padEnd(56)} ${fileMode(e.file).padEnd(15)} (recorded, not run)`;
    case "file-completed-earlier":
      return `  applied     ${e.file.folder.padEnd(56)} ${fileMode(e.file).padEnd(15)} (index ${e.index} was completed by an interrupted earlier run; recorded)`;
    case "lock-timeout-retry":
      return `  lock wait   ${e.file.folder}: lock_timeout reached (attempt ${e.attempt}); retrying in ${ms(e.delayMs)}${e.blocker ? `; blocked by ${e.blocker}` : ""}`;
    case "invalid-index-dropped":
      return `  repaired    ${e.file.folder}: dropped INVALID index ${e.index} left by an interrupted build; building it again`;
    case "snapshot-recorded":
      return undefined;
    case "snapshot-failed":
      return `warning: the schema snapshot was not recorded (${e.message}); the files above are applied; \`migrate drift --replay\` compares without it`;
    case "drift-none":
      return `  drift       none: the schema is the snapshot's at ${e.head} (sha256 ${e.sha256.slice(0, 12)}…)`;
    case "drift-unchecked":
      return `note: drift not checked before applying: ${e.reason}`;
    case "drift-carried":
      return `warning: drift carried into the new snapshot at ${e.head}: ${e.differences} difference${e.differences === 1 ? "" : "s"}; \`migrate drift\` lists ${e.differences === 1 ? "it" : "them"}`;
    case "privileges-enforced":
      // Silent when nothing changed, so a re-run reads as one; each change is a line, as a grant is news.
      return e.changes.length === 0 ? undefined : e.changes.map((c) => `  privileges  ${c}`).join("\n");
  }
}

/** "417 files, 0_init … 20261130000000_points (2 baselined)": the files applied before this run. */
function describeApplied(applied: { folder: string; status: string }[]): string {
  const folder = (a: { folder: string }) => a.folder;
  const range = applied.length === 1 ? folder(applied[0]!) : `${folder(applied[0]!)} … ${folder(applied.at(-1)!)}`;
  const notes = (["baselined", "adopted"] as const).map((s) => [applied.filter((a) => a.status === s).length, s] as const).filter(([n]) => n > 0);
  return `${applied.length} file${applied.length === 1 ? "" : "s"}, ${range}${notes.length ? ` (${notes.map(([n, s]) => `${n} ${s}`).join(", ")})` : ""}`;
}

export interface ApplyFormat {
  /** The migrations folder as the user gave it, and the database's display name: named when nothing else was printed. */
  dir: string;
}

/** The summary line of an apply: the files this run applied were listed as progress, as was (in brief) the rest. */
export function formatApply(report: ApplyReport, where?: ApplyFormat): string {
  const lines: string[] = [];
  // Adopted files were recorded this run, but none ran: said first, and not counted as applied by it.
  const adopted = report.adopted.length > 0 ? `Adopted ${describeAdoption(report.adopted)}, running none of them. ` : "";
  const applied = report.results.filter((r) => r.action !== "baselined").length;
  const baselined = report.results.filter((r) => r.action === "baselined").length;
  const total = report.results.reduce((sum, r) => sum + r.durationMs, 0);
  if (report.failure) {
    lines.push(`Applied ${applied} migration${applied === 1 ? "" : "s"} before a failure.`);
  } else if (report.results.length === 0 && report.stillPending === 0) {
    const last = report.adopted.at(-1) ?? report.alreadyApplied.at(-1);
    const facts = [where ? `${where.dir} on ${report.database}` : undefined, last ? `the last is ${last.folder}` : undefined].filter(Boolean);
    const total = report.alreadyApplied.length + report.adopted.length;
    lines.push(`${adopted}Nothing pending: all ${total} migrations are applied${facts.length ? ` (${facts.join("; ")})` : ""}.`);
  } else if (report.results.length === 0) {
    // --only a file that is already applied: the others are not this run's business, but say so.
    lines.push(`${adopted}Nothing to apply in this run; ${report.alreadyApplied.length + report.adopted.length} applied, ${report.stillPending} still pending.`);
  } else {
    const before = report.alreadyApplied.length + report.adopted.length;
    lines.push(
      `${adopted}Applied ${applied} migration${applied === 1 ? "" : "s"}${baselined ? `, baselined ${baselined}` : ""} in ${ms(total)}; ${before} ${before === 1 ? "was" : "were"} already applied` +
        `${report.stillPending > 0 ? `; ${report.stillPending} still pending` : ""}.`,
    );
  }
  return lines.join("\n");
}

export function formatStatus(report: StatusReport): string {
  const lines = [`Database: ${report.database}`];
  for (const a of report.applied) {
    lines.push(`  ${a.status.padEnd(10)} ${a.folder.padEnd(56)} ${mode(a.transactional).padEnd(15)} ${a.appliedAt}  ${a.durationMs === null ? "" : ms(a.durationMs)}`);
  }
  for (const p of report.pending) {
    lines.push(
      `  ${"pending".padEnd(10)} ${p.folder.padEnd(56)} ${mode(p.transactional)}${p.resumes ? "  (an earlier run was interrupted in it; it resumes safely)" : ""}`,
    );
  }
  if (report.adopts.length > 0) lines.push(`  ${"adopts".padEnd(10)} ${describeAdoption(report.adopts)}: the next apply records them, running none`);
  lines.push(`${report.applied.length} applied, ${report.adopts.length > 0 ? `${report.adopts.length} to adopt, ` : ""}${report.pending.length} pending.`);
  for (const p of report.problems) lines.push(`problem: ${formatProblem(p)}`);
  return lines.join("\n");
}

export function formatPlan(report: PlanReport): string {
  const adopts = report.adopts.length > 0 ? [`  adopts ${describeAdoption(report.adopts)}, runs none of them`] : [];
  if (report.steps.length === 0 && adopts.length === 0) return `Nothing pending on ${report.database}.`;
  const lines = [`Plan for ${report.database}:`, ...adopts];
  if (report.steps.length === 0) lines.push("  nothing else is pending");
  report.steps.forEach((s, i) => {
    lines.push(
      `  ${String(i + 1).padStart(3)}. ${s.action.padEnd(8)} ${s.file.replace(/\/migration\.sql$/, "").padEnd(56)} ${(s.statements === 0 ? "empty" : s.mode).padEnd(15)} ${s.statements} statement${s.statements === 1 ? "" : "s"}${s.statements === 0 ? " (comments only: recorded as applied, nothing runs)" : ""}${s.resumes ? " (resumes an interrupted run)" : ""}`,
    );
  });
  return lines.join("\n");
}

export function formatVerify(report: VerifyReport): string {
  const lines = report.checks.map((c) => `  ${c.ok ? "pass" : "FAIL"}  ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return lines.join("\n");
}

export function formatLint(report: LintReport): string {
  const { findings } = report;
  const lines = [`Linting ${report.says}`];
  lines.push(...findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.level} [${f.rule}] ${f.message}${f.help ? ` (${f.help})` : ""}`));
  const errors = report.errors;
  lines.push(`lint: ${errors} error${errors === 1 ? "" : "s"}, ${findings.length - errors} warning${findings.length - errors === 1 ? "" : "s"}`);
  return lines.join("\n");
}
