import type { MigrationFile, MigrationSet } from "./files.js";
import { compareVersions, type LedgerRow } from "./ledger.js";
import type { LintFinding } from "./lint.js";
import { setLocks, type StatementLocks } from "./locks.js";
import { MANIFEST_PREFIX } from "./manifest.js";
import type { PreviewSummary } from "./preview.js";

/**
 * A migration review: what `pulumi up` of one stack will do to its database, as data (pure).
 * `review-markdown.ts` turns it into the pull-request comment.
 *
 * What is applied comes from the database's ledger when the reviewer can reach it, else from the
 * preview: the apply command's manifest in the state is the set of the last successful `up`, so
 * a key only in this preview is a pending file, a changed value an edited one, a key gone a
 * removed one (the same rule the migrator applies with `--expect-manifest` and its ledger).
 */

export interface AppliedEntry {
  version: string;
  name: string;
  checksum: string;
}

export interface PendingFile {
  file: MigrationFile;
  statements: { line: number; kind: string; locks: StatementLocks }[];
  lint: LintFinding[];
}

export interface RefusedFile {
  version: string;
  name: string;
  kind: "edited" | "removed" | "out-of-order";
  /** What `up` will do, in the migrator's terms. */
  outcome: string;
}

export interface Review {
  stack: string;
  /** Where "applied" came from: the database's ledger, or the stack's state through the preview. */
  appliedFrom: "database" | "preview";
  pending: PendingFile[];
  refused: RefusedFile[];
  preview: PreviewSummary;
}

/** The manifest's values read back as applied entries (`<name> <mode> sha256:<hex>`). */
export function appliedFromManifest(manifest: Record<string, string>): AppliedEntry[] {
  const out: AppliedEntry[] = [];
  for (const [key, value] of Object.entries(manifest)) {
    const m = /^(\S+) (?:transaction|no-transaction) sha256:([0-9a-f]{64})$/.exec(value);
    if (key.startsWith(MANIFEST_PREFIX) && m) out.push({ version: key.slice(MANIFEST_PREFIX.length), name: m[1]!, checksum: m[2]! });
  }
  return out.sort((a, b) => compareVersions(a.version, b.version));
}

/** Ledger rows as applied entries; a `started` row (an interrupted no-transaction file) is still pending. */
export function appliedFromLedger(rows: readonly LedgerRow[]): AppliedEntry[] {
  return rows.filter((r) => r.status !== "started").map((r) => ({ version: r.version, name: r.name, checksum: r.checksum }));
}

export function buildReview(input: {
  stack: string;
  set: MigrationSet;
  applied: AppliedEntry[];
  appliedFrom: Review["appliedFrom"];
  lint: LintFinding[];
  preview: PreviewSummary;
}): Review {
  const { set, applied } = input;
  const byVersion = new Map(applied.map((a) => [a.version, a]));
  const onDisk = new Set(set.files.map((f) => f.version));
  const locks = new Map(setLocks(set.files).map((f) => [f.version, f.statements]));
  const lastApplied = applied.map((a) => a.version).filter((v) => onDisk.has(v)).sort(compareVersions).at(-1);
  const refused: RefusedFile[] = [];
  const pending: PendingFile[] = [];

  for (const file of set.files) {
    const done = byVersion.get(file.version);
    if (done) {
      if (done.checksum !== file.checksum) {
        refused.push({
          version: file.version,
          name: file.name,
          kind: "edited",
          outcome: `edited after it was applied (sha256 ${done.checksum.slice(0, 12)}… applied, ${file.checksum.slice(0, 12)}… now): \`up\` refuses before anything runs; restore the file and write a new migration`,
        });
      }
      continue;
    }
    if (lastApplied !== undefined && compareVersions(file.version, lastApplied) < 0) {
      refused.push({
        version: file.version,
        name: file.name,
        kind: "out-of-order",
        outcome: `new but orders before ${lastApplied}, which is applied: \`up\` refuses before anything runs; give it a later version`,
      });
    }
    pending.push({ file, statements: locks.get(file.version) ?? [], lint: input.lint.filter((l) => l.file === file.relativePath) });
  }
  for (const a of applied) {
    if (!onDisk.has(a.version)) {
      refused.push({
        version: a.version,
        name: a.name,
        kind: "removed",
        outcome: "applied, but its folder is gone: `up` refuses before anything runs, unless the stack sets `allowRemovedMigrations`; restore the folder",
      });
    }
  }
  refused.sort((x, y) => compareVersions(x.version, y.version));
  return { stack: input.stack, appliedFrom: input.appliedFrom, pending, refused, preview: input.preview };
}
