import { displayTable, LOCK_MODES, type LockMode, type StatementLocks, type TableLock } from "../migrator/table-locks.js";
import { redact } from "../migrator/redact.js";
import type { Rehearsal } from "../migrator/rehearse.js";
import { changesText, largeWorkLines, rehearsalLine } from "../migrator/rehearse-format.js";
import type { PendingFile, Review } from "./review.js";

/**
 * The review as a pull-request comment. GitHub refuses a comment over 65,536 characters, so the
 * whole text stays under `limit` (64,000 by default) whatever the set's size: rows are added
 * whole while they fit, and what does not fit is counted in a line after the table, never cut
 * mid-row or mid-table. Every line passes through `redact`, and then any postgres:// URL is replaced
 * whole, so no password or connection string reaches the comment even if a message carried one.
 */

export const COMMENT_LIMIT = 64_000;

const CONNECTION_URL = /\bpostgres(?:ql)?:\/\/[^\s`'"|<>)]+/gi;

/** The hidden first line the workflow finds its own comment by, one per stack. */
export function reviewMarker(stack: string): string {
  return `<!-- pg-migrations-review:${stack} -->`;
}

/** A table cell: no pipe or line break may end the cell early. */
function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function code(text: string): string {
  return "`" + text.replace(/`/g, "'") + "`";
}

function lockText(l: TableLock): string {
  const where = l.table ? code(displayTable(l.table)) : (l.note ?? "a table not named in the statement");
  return `${l.mode} ${where}${l.newTable ? " (new)" : ""}`;
}

/** The SQL command of a parse node kind, for the statements whose locks are listed. */
const COMMAND: Record<string, string> = {
  CreateStmt: "CREATE TABLE",
  IndexStmt: "CREATE INDEX",
  CreateTrigStmt: "CREATE TRIGGER",
  InsertStmt: "INSERT",
  UpdateStmt: "UPDATE",
  DeleteStmt: "DELETE",
  MergeStmt: "MERGE",
  SelectStmt: "SELECT",
  TruncateStmt: "TRUNCATE",
  LockStmt: "LOCK TABLE",
  DropStmt: "DROP",
  RenameStmt: "ALTER … RENAME",
  VacuumStmt: "VACUUM/ANALYZE",
  CommentStmt: "COMMENT ON",
  CreateStatsStmt: "CREATE STATISTICS",
  ReindexStmt: "REINDEX",
  ClusterStmt: "CLUSTER",
  RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW",
  ViewStmt: "CREATE VIEW",
  CreateTableAsStmt: "CREATE TABLE AS",
};

/** One statement's locks, e.g. `L101 ALTER TABLE ADD COLUMN: ACCESS EXCLUSIVE "Member"`. */
function statementText(s: { line: number; kind: string; locks: StatementLocks }): string | undefined {
  const locks = s.locks.locks;
  if (locks.length === 0 && !s.locks.unknown) return undefined;
  const first = locks[0]?.why;
  const what =
    s.kind === "AlterTableStmt"
      ? `ALTER TABLE ${first ?? ""}`.trim()
      : s.kind === "IndexStmt" || s.kind === "DropStmt"
        ? (first ?? COMMAND[s.kind]!)
        : (COMMAND[s.kind] ?? s.kind);
  const text = locks.map((l, i) => lockText(l) + (i > 0 && /referenced/.test(l.why) ? " (referenced)" : "")).join(", ");
  return `L${s.line} ${what}: ${text || "?"}${s.locks.unknown ? ` (${s.locks.unknown})` : ""}`;
}

/** The strongest mode per table over a whole file, for a file too large to list statement by statement. */
function strongestPerTable(p: PendingFile): string {
  const strongest = new Map<string, { mode: LockMode; text: string }>();
  for (const s of p.statements) {
    for (const l of s.locks.locks) {
      if (!l.table) continue;
      const key = displayTable(l.table);
      const prior = strongest.get(key);
      if (!prior || LOCK_MODES.indexOf(l.mode) > LOCK_MODES.indexOf(prior.mode)) strongest.set(key, { mode: l.mode, text: lockText(l) });
    }
  }
  return `strongest per table over the file: ${[...strongest.values()].map((v) => v.text).join(", ") || "no table lock"}`;
}

const CELL_LIMIT = 4_000;

function locksCell(p: PendingFile): string {
  const lines = p.statements.map(statementText).filter((t): t is string => t !== undefined);
  const quiet = p.statements.length - lines.length;
  const full = [...lines, ...(quiet > 0 ? [`${quiet} statement${quiet === 1 ? "" : "s"} take${quiet === 1 ? "s" : ""} no table lock`] : [])].join("<br>");
  return full.length <= CELL_LIMIT ? full : strongestPerTable(p);
}

function lintCell(p: PendingFile): string {
  if (p.lint.length === 0) return "none";
  const shown = p.lint.slice(0, 10).map((f) => `${f.level === "error" ? "**error**" : "warning"} ${code(`${f.file}:${f.line}`)} ${f.rule}: ${f.message}`);
  return [...shown, ...(p.lint.length > shown.length ? [`…and ${p.lint.length - shown.length} more`] : [])].join("<br>");
}

/** The "schema changes" cell: what the rehearsal saw the file change, or that it failed (and where). */
function changesCell(p: PendingFile, rehearsal: Rehearsal): string {
  const r = rehearsal.pending.find((x) => x.folder === p.file.folder);
  if (!r || r.outcome === "not rehearsed") return "not rehearsed";
  if (r.outcome === "failed") return `**fails**${r.error?.line ? ` at L${r.error.line}` : ""}`;
  const rewrote = r.rewrote ? `; rewrote ${r.rewrote.map(code).join(", ")}` : "";
  return `${changesText(r.changes!.summary)}${rewrote}`;
}

function row(p: PendingFile, rehearsal: Rehearsal | undefined): string {
  const f = p.file;
  const changes = rehearsal ? ` ${cell(changesCell(p, rehearsal))} |` : "";
  return `| ${f.version} | ${cell(f.name)} | ${f.mode}${f.wrapped ? " (wrapper dropped)" : ""} | ${f.statements.length} |${changes} ${cell(locksCell(p))} | ${cell(lintCell(p))} |`;
}

/** A line of the head, at most 500 characters: the head is bounded whatever a message holds. */
const short = (text: string) => (text.length <= 500 ? text : `${text.slice(0, 499)}…`);

/**
 * The rehearsal's part of the head: its one line, then (bounded) what a reviewer must act on: the
 * failure, the locks held beyond the prediction, the large tables rewritten or scanned, and drift
 * between the replayed applied files and the database.
 */
function rehearsalLines(review: Review): string[] {
  const r = review.rehearsal;
  if (!r) return [];
  const failed = r.pending.find((f) => f.outcome === "failed");
  const out: string[] = [];
  if (failed) {
    out.push(`> [!CAUTION]`, `> ${cell(short(rehearsalLine(r)))}`);
    for (const l of (failed.error?.message ?? "").split("\n").slice(1, 6)) if (l.trim()) out.push(`> ${cell(short(l.trim()))}`);
    out.push(`> \`up\` would stop at this file; fix it before merging (it is not applied anywhere, so editing it is fine).`, "");
  } else out.push(cell(short(rehearsalLine(r))), "");
  const LIST = 10;
  const findings = r.pending.flatMap((f) => (f.locks?.findings ?? []).map((x) => `${code(f.folder)}: ${x.line}`));
  if (findings.length > 0) {
    out.push(`Locks the rehearsal saw beyond the table below (read from \`pg_locks\` just before each file's COMMIT):`);
    for (const x of findings.slice(0, LIST)) out.push(`- ${cell(short(x))}`);
    if (findings.length > LIST) out.push(`- …and ${findings.length - LIST} more (\`npm run migrate -- rehearse\` lists them all)`);
    out.push("");
  }
  const large = r.pending.flatMap((f) => largeWorkLines(f).map((l) => `${code(f.folder)} ${l}`));
  if (large.length > 0) {
    out.push(`Statements that rewrite or scan a large table (at least ${r.largeTableRows.toLocaleString("en")} estimated rows on the database):`);
    for (const x of large.slice(0, LIST)) out.push(`- ${cell(short(x))}`);
    if (large.length > LIST) out.push(`- …and ${large.length - LIST} more`);
    out.push("");
  }
  if (r.drift && !r.drift.matches) {
    const n = r.drift.differences.length;
    out.push(`The applied files replayed differ from the database in ${n} place${n === 1 ? "" : "s"}; the rehearsal went on from the files:`);
    for (const d of r.drift.differences.slice(0, LIST)) out.push(`- ${cell(short(d.line))}`);
    if (n > LIST) out.push(`- …and ${n - LIST} more (\`npm run migrate -- drift --replay\` lists them all)`);
    out.push("");
  }
  return out;
}

/** The drift part of the review's head, when the database was read: a warning on drift, one line otherwise. */
function driftLines(review: Review): string[] {
  const d = review.drift;
  if (!d) return [];
  if (!d.checked) return [`Drift: not checked (${d.reason}).`, ""];
  if (d.differences.length === 0) return [`Drift: none; the schema is the snapshot's at ${code(d.head)} (sha256 ${code(d.snapshot.sha256.slice(0, 12))}).`, ""];
  const n = d.differences.length;
  const out = [
    `> [!WARNING]`,
    `> **Drift:** the database's schema differs from the snapshot recorded at ${code(d.head)} (sha256 ${code(d.snapshot.sha256.slice(0, 12))}) in ${n} place${n === 1 ? "" : "s"}:`,
  ];
  for (const x of d.differences.slice(0, 20)) out.push(`> - ${cell(x.line)}`);
  if (n > 20) out.push(`> - …and ${n - 20} more (\`npm run migrate -- drift\` lists them all)`);
  const stops =
    review.preview.failOnDrift && review.pending.length > 0
      ? "This stack sets `failOnDrift`: `up` stops before the first pending file until this is resolved."
      : review.preview.failOnDrift
        ? "This stack sets `failOnDrift`: the next `up` with a pending file stops until this is resolved."
        : "This stack does not set `failOnDrift`: `up` applies the pending files, and the snapshot after them takes this change in.";
  out.push(`> ${stops} Undo it in the database (restore the object as the migrations define it), or write a migration that makes it the files' own.`, "");
  return out;
}

export interface RenderOptions {
  /** Secrets to scrub besides URL passwords (the database password, when known). */
  secrets?: readonly string[];
  limit?: number;
}

/** What `up` does with Prisma's history: adopts files (read from the database), or may (the preview alone cannot tell). */
function adoptionLines(review: Review): string[] {
  const a = review.adoption;
  if (!a) return [];
  if (!a.known) {
    return [
      "Read from the preview alone, which cannot see the database: if it holds Prisma's `_prisma_migrations`, the first `up` adopts the files Prisma finished (records them, runs none of them) and runs only the rest. Give `--database-url` to see which.",
      "",
    ];
  }
  const lines: string[] = [];
  if (a.folders.length > 0) {
    const n = a.folders.length;
    const range = n === 1 ? code(a.folders[0]!) : `${code(a.folders[0]!)} … ${code(a.folders.at(-1)!)}`;
    lines.push(
      `**Adopts ${n} file${n === 1 ? "" : "s"} from Prisma's history** (\`_prisma_migrations\`, ${range}): \`up\` records them as adopted and runs none of them.`,
      "",
    );
  }
  if (a.problems.length > 0) {
    lines.push("Prisma's history (`_prisma_migrations`) stops `up` before anything runs:", "");
    for (const p of a.problems.slice(0, 20)) lines.push(`- ${cell(p)}`);
    if (a.problems.length > 20) lines.push(`- …and ${a.problems.length - 20} more`);
    lines.push("");
  }
  return lines;
}

export function renderReview(review: Review, options: RenderOptions = {}): string {
  const limit = options.limit ?? COMMENT_LIMIT;
  // Passwords first (redact.ts), then whole connection URLs: a comment names no host, user or database either.
  const scrub = (t: string) => redact(t, options.secrets ?? []).replace(CONNECTION_URL, "<connection string>");
  const { pending, refused, preview } = review;
  const errors = pending.reduce((n, p) => n + p.lint.filter((l) => l.level === "error").length, 0);

  const head: string[] = [reviewMarker(review.stack), `## Migration review: stack \`${review.stack}\``, ""];
  if (preview.dangerous.length > 0) {
    head.push(`> [!CAUTION]`);
    head.push(
      `> **Dangerous:** ${preview.dangerous.length} database resource${preview.dangerous.length === 1 ? "" : "s"} would be replaced or deleted by \`pulumi up\`:`,
    );
    for (const d of preview.dangerous.slice(0, 20)) head.push(`> - **${d.op}** ${code(d.type)} ${code(d.name)}`);
    if (preview.dangerous.length > 20) head.push(`> - …and ${preview.dangerous.length - 20} more`);
    head.push("");
  }
  if (preview.errors.length > 0) {
    head.push(`> [!WARNING]`);
    head.push(`> The preview reported ${preview.errors.length} error${preview.errors.length === 1 ? "" : "s"}:`);
    for (const e of preview.errors.slice(0, 5)) head.push(`> ${cell(e.slice(0, 500))}`);
    head.push("");
  }
  head.push(...driftLines(review));
  head.push(...rehearsalLines(review));
  const changing = preview.changes.length;
  head.push(
    `**${pending.length} file${pending.length === 1 ? "" : "s"} pending, ${changing} stack resource${changing === 1 ? "" : "s"} changing**` +
      (refused.length > 0 ? `, **${refused.length} file${refused.length === 1 ? "" : "s"} that \`up\` refuses**` : "") +
      (errors > 0 ? `, ${errors} lint error${errors === 1 ? "" : "s"}` : "") +
      ".",
  );
  head.push(
    "",
    review.appliedFrom === "database"
      ? "Applied files read from the database's ledger."
      : "Applied files read from the stack's state (the apply command's manifest at the last successful `up`), as `pulumi preview` shows it.",
    "",
  );
  head.push(...adoptionLines(review));
  // Applied files are not linted: one that ran long ago cannot be changed, only followed by a new one.
  if (pending.length > 0) head.push(`Lint (squawk) judged the pending files for PostgreSQL ${review.lintMajor}.`, "");

  const tail: string[] = [];
  if (refused.length > 0) {
    tail.push("### Files `up` refuses", "");
    const shown = refused.slice(0, 50);
    for (const r of shown) tail.push(`- ${code(`${r.version}_${r.name}`)} **${r.kind}**: ${r.outcome}`);
    if (refused.length > shown.length) tail.push(`- …and ${refused.length - shown.length} more`);
    tail.push("");
  }
  tail.push(
    "<details><summary>What each lock mode blocks</summary>",
    "",
    "ACCESS EXCLUSIVE blocks everything, reads included; SHARE and SHARE ROW EXCLUSIVE block INSERT, UPDATE and DELETE (reads go on); " +
      "SHARE UPDATE EXCLUSIVE blocks only other schema changes and VACUUM; ROW EXCLUSIVE and ROW SHARE block only DDL. " +
      "A table marked (new) was created earlier in the same transaction: no other session sees it yet. " +
      "Levels from PostgreSQL 17's documentation, 13.3 Explicit Locking.",
    "</details>",
  );

  const out = [...head];
  if (pending.length > 0) {
    const changes = review.rehearsal ? " schema changes (rehearsed) |" : "";
    const table = [
      "### Pending files, in the order `up` applies them",
      "",
      `| version | name | mode | statements |${changes} table locks, per statement | lint |`,
      `|---|---|---|---|${review.rehearsal ? "---|" : ""}---|---|`,
    ];
    const budget = limit - [...head, ...tail].join("\n").length - 600;
    let used = table.join("\n").length;
    let shown = 0;
    for (const p of pending) {
      const r = scrub(row(p, review.rehearsal));
      if (used + r.length + 1 > budget) break;
      table.push(r);
      used += r.length + 1;
      shown++;
    }
    if (shown > 0) out.push(...table, "");
    if (shown < pending.length) {
      const rest = pending.slice(shown);
      const statements = rest.reduce((n, p) => n + p.file.statements.length, 0);
      out.push(
        `…and **${rest.length} more pending file${rest.length === 1 ? "" : "s"}** (${rest[0]!.file.version} to ${rest.at(-1)!.file.version}, ${statements} statements) ` +
          `left out to keep this comment under ${limit.toLocaleString("en")} characters; \`npm run review -- --stack ${review.stack} --full\` prints them all.`,
        "",
      );
    }
  } else {
    out.push("No migration file is pending.", "");
  }
  out.push(...tail);
  return scrub(out.join("\n")) + "\n";
}
