import type { ChangeSummary, Rehearsal, RehearsedFile } from "./rehearse.js";
import type { TableSize } from "./rehearse-size.js";

/** How `migrate rehearse` and the review say a rehearsal (pure). */

const PLURAL: Record<string, string> = { index: "indexes", policy: "policies" };
const plural = (n: number, word: string) => `${n} ${n === 1 ? word : (PLURAL[word] ?? `${word}s`)}`;

/** Kinds in the order a reader cares about: the relations first. */
const KIND_ORDER = ["table", "view", "column", "index", "constraint", "trigger", "function", "sequence", "enum", "type", "policy", "schema", "extension"];

/** "+1 table, +2 indexes, ~1 column, -1 constraint", or "no schema change". */
export function changesText(summary: ChangeSummary): string {
  const parts: string[] = [];
  for (const [change, sign] of [
    ["added", "+"],
    ["altered", "~"],
    ["removed", "-"],
  ] as const) {
    const kinds = Object.entries(summary[change]).sort(([a], [b]) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b));
    for (const [kind, n] of kinds) if (n) parts.push(`${sign}${plural(n, kind)}`);
  }
  return parts.length > 0 ? parts.join(", ") : "no schema change";
}

function sizeText(size: TableSize | undefined): string {
  if (!size) return "not on the database (new)";
  const mb = size.bytes / (1024 * 1024);
  const bytes = mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${mb.toFixed(mb < 10 ? 1 : 0)} MiB`;
  return `${size.rows === null ? "rows unknown (never analysed)" : `~${size.rows.toLocaleString("en")} rows`}, ${size.pages.toLocaleString("en")} pages (${bytes})`;
}

/** The locks part of one file, in one line. */
export function locksText(f: RehearsedFile): string {
  if (f.locksUnread !== undefined) return `locks not observed: reading pg_locks failed (${f.locksUnread})`;
  if (!f.locks) return f.outcome === "applied" ? "locks not observed (no transaction: each statement commits on its own)" : "";
  if (f.locks.findings.length === 0) return "locks as predicted";
  return `${plural(f.locks.findings.length, "lock finding")}: ${f.locks.findings.map((x) => x.line).join("; ")}`;
}

/** The whole-table work on large tables of one file, one line each. */
export function largeWorkLines(f: RehearsedFile): string[] {
  return f.work.filter((w) => w.large).map((w) => `L${w.line} ${w.work} ${w.table}, ${sizeText(w.size)}: ${w.why}`);
}

/** What the rehearsal replayed first, and how that compares with the database. */
function appliedText(r: Rehearsal): string {
  const n = plural(r.applied.files, "applied file");
  if (r.applied.from === "ledger") return `${n} (from the ledger of ${r.database}) replayed`;
  if (r.applied.from === "--since") return `${n} (up to ${r.applied.head ?? "none"}, --since) replayed`;
  if (r.applied.from === "stack") return `${n} (from the stack's state) replayed`;
  return "from an empty database";
}

const MAJOR_FROM: Record<Rehearsal["majorFrom"], string> = {
  database: "the database's major",
  "--pg-version": "--pg-version",
  stack: "the stack's engineVersion",
  default: "the default; name a database or --pg-version for another",
};

/** The one line a review shows: "Rehearsed on PostgreSQL 17.6: 3 pending files apply; +1 table, +2 indexes; locks as predicted." */
export function rehearsalLine(r: Rehearsal): string {
  const failed = r.pending.find((f) => f.outcome === "failed");
  const head = `Rehearsed on PostgreSQL ${r.serverVersion}`;
  if (failed) {
    const where = failed.error?.file && failed.error.line ? `${failed.error.file}:${failed.error.line}` : failed.file;
    const message = failed.error?.message.split("\n")[0]?.replace(/^\S+:\d+(:\d+)?: /, "") ?? "failed";
    return `${head}: **${where} fails**: ${message}; ${plural(r.summary.applied, "pending file")} before it applied, ${r.pending.length - r.summary.applied - 1} not rehearsed after it.`;
  }
  if (r.pending.length === 0) return `${head}: no pending file to rehearse.`;
  const locks = r.summary.lockFindings === 0 ? "locks as predicted" : `${plural(r.summary.lockFindings, "lock finding")}`;
  const large = r.summary.largeTableWork > 0 ? `; ${plural(r.summary.largeTableWork, "statement")} rewriting or scanning a large table` : "";
  const verb = r.pending.length === 1 ? "applies" : "apply";
  return `${head}: ${plural(r.pending.length, "pending file")} ${verb}; ${changesText(r.summary.changes)}; ${locks}${large}.`;
}

/** The human report of `migrate rehearse`. */
export function formatRehearsal(r: Rehearsal): string {
  const lines = [`Rehearsal on PostgreSQL ${r.serverVersion} (${MAJOR_FROM[r.majorFrom]}): ${appliedText(r)}, then ${plural(r.pending.length, "pending file")}.`];
  lines.push(...r.notes.map((n) => `note: ${n}`));
  if (r.drift) {
    if (r.drift.matches) lines.push(`The replay matches the database (sha256 ${r.drift.liveSha256}).`);
    else {
      lines.push(`Drift: the database differs from the replayed applied files in ${plural(r.drift.differences.length, "place")} (the rehearsal goes on from the files):`);
      lines.push(...r.drift.differences.map((d) => `  ${d.line}`));
    }
  }
  for (const f of r.pending) {
    if (f.outcome === "not rehearsed") {
      lines.push(`  ${f.file}  not rehearsed (an earlier file failed)`);
      continue;
    }
    if (f.outcome === "failed") {
      lines.push(`  ${f.file}  FAILED`, ...(f.error?.message ?? "").split("\n").map((l) => `    ${l}`));
      continue;
    }
    lines.push(`  ${f.file}  ${f.mode}  applied in ${f.durationMs} ms`);
    lines.push(`    changes: ${changesText(f.changes!.summary)}`);
    lines.push(...f.changes!.lines.slice(0, 50).map((l) => `      ${l}`));
    if (f.changes!.lines.length > 50) lines.push(`      …and ${f.changes!.lines.length - 50} more (--json lists them all)`);
    lines.push(`    ${locksText(f)}`);
    if (f.rewrote) lines.push(`    rewrote ${f.rewrote.join(", ")} (new storage: every row copied under the file's lock)`);
    for (const l of largeWorkLines(f)) lines.push(`    large table: ${l}`);
  }
  lines.push(rehearsalLine(r).replace(/\*\*/g, ""));
  return lines.join("\n");
}
