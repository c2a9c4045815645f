import type { MigrationFile, MigrationSet } from "../migrator/files.js";
import { compareFolders, type LedgerRow } from "../migrator/ledger.js";
import type { SnapshotComparison } from "../migrator/catalog/snapshot.js";
import type { LintFinding } from "../migrator/lint.js";
import { setLocks, type StatementLocks } from "../migrator/table-locks.js";
import { parseManifestEntry } from "../migrator/manifest.js";
import { plan } from "../migrator/plan.js";
import type { Rehearsal } from "../migrator/rehearse.js";
import type { PreviewSummary } from "./preview.js";

/**
 * A migration review: what `pulumi up` of one stack will do to its database, as data (pure).
 * `markdown.ts` turns it into the pull-request comment.
 *
 * What is applied comes from the database's ledger when the reviewer can reach it, else from the
 * preview: the apply command's manifest in the state is the set of the last successful `up`, so
 * a key only in this preview is a pending file, a changed value an edited one, a key gone a
 * removed one (the same rule the migrator applies with `--expect-manifest` and its ledger).
 */

export interface PendingFile {
  file: MigrationFile;
  statements: { line: number; kind: string; locks: StatementLocks }[];
  lint: LintFinding[];
}

export interface RefusedFile {
  folder: string;
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
  /** The PostgreSQL major lint judged the pending files for (the server's, else the stack's). */
  lintMajor: number;
  /** The database's schema against the snapshot at its applied head; only when the database was reached. */
  drift?: SnapshotComparison;
  /** `--rehearse`: the pending files applied on a scratch server (migrator/rehearse.ts). */
  rehearsal?: Rehearsal;
  /** Prisma's history: what `up` adopts (read from the database), or unknown (the preview alone cannot see it). */
  adoption?: Adoption;
}

/** What `up` adopts from Prisma's `_prisma_migrations`: the folders, and what would stop it (formatted problems). */
export type Adoption = { known: true; folders: string[]; problems: string[] } | { known: false };

/**
 * The manifest's values read back as ledger rows (`<name> <mode> sha256:<hex>`): what the last
 * successful `up` applied. When and by whom is not in the manifest; nothing here prints it.
 */
export function ledgerFromManifest(manifest: Record<string, string>): LedgerRow[] {
  const out: LedgerRow[] = [];
  for (const [key, value] of Object.entries(manifest)) {
    const entry = parseManifestEntry(key, value);
    if (!entry) continue;
    out.push({
      folder: entry.folder,
      version: entry.version,
      name: entry.name,
      checksum: entry.checksum,
      transactional: entry.transactional,
      status: "applied",
      appliedAt: new Date(0),
      durationMs: null,
      appliedBy: "(from the stack's state)",
      clientAddr: null,
    });
  }
  return out.sort((a, b) => compareFolders(a.folder, b.folder));
}

/**
 * The migrator's own planner says what is pending and in which order, as `up` will once the
 * refusals are dealt with: an edited file counts as applied, a removed one is ignored, and
 * out-of-order files are planned (and named by the review) instead of stopping the plan.
 */
function plannedSteps(set: MigrationSet, ledger: readonly LedgerRow[]) {
  const files = new Map(set.files.map((f) => [f.folder, f]));
  const restored = ledger.map((r) => {
    const file = files.get(r.folder);
    return file && r.status !== "started" ? { ...r, checksum: file.checksum } : r;
  });
  return plan(set, restored, { ignoreUnknown: true, allowOutOfOrder: true });
}

/** The files `up` would apply, in order: the ones the review lints (an applied file cannot change). */
export function pendingFiles(set: MigrationSet, ledger: readonly LedgerRow[]): MigrationFile[] {
  return plannedSteps(set, ledger).steps.map((s) => s.file);
}

export function buildReview(input: {
  stack: string;
  set: MigrationSet;
  ledger: readonly LedgerRow[];
  appliedFrom: Review["appliedFrom"];
  lint: LintFinding[];
  preview: PreviewSummary;
  lintMajor: number;
  drift?: SnapshotComparison;
  rehearsal?: Rehearsal;
  adoption?: Adoption;
}): Review {
  const { set } = input;
  const files = new Map(set.files.map((f) => [f.folder, f]));
  // A `started` row is an interrupted no-transaction file: still pending (the planner resumes it).
  const done = input.ledger.filter((r) => r.status !== "started");
  const refused: RefusedFile[] = [];
  for (const row of done) {
    const file = files.get(row.folder);
    if (!file) {
      refused.push({
        folder: row.folder,
        version: row.version,
        name: row.name,
        kind: "removed",
        outcome: "applied, but its folder is gone: `up` refuses before anything runs, unless the stack sets `allowRemovedMigrations`; restore the folder",
      });
    } else if (row.checksum !== file.checksum) {
      refused.push({
        folder: row.folder,
        version: row.version,
        name: file.name,
        kind: "edited",
        outcome: `edited after it was applied (sha256 ${row.checksum.slice(0, 12)}… applied, ${file.checksum.slice(0, 12)}… now): \`up\` refuses before anything runs; restore the file and write a new migration`,
      });
    }
  }
  const planned = plannedSteps(set, input.ledger);
  const lastApplied = done
    .map((r) => r.folder)
    .filter((v) => files.has(v))
    .sort(compareFolders)
    .at(-1);
  const locks = new Map(setLocks(set.files).map((f) => [f.folder, f.statements]));
  const pending: PendingFile[] = [];
  for (const step of planned.steps) {
    const file = step.file;
    if (lastApplied !== undefined && compareFolders(file.folder, lastApplied) < 0) {
      refused.push({
        folder: file.folder,
        version: file.version,
        name: file.name,
        kind: "out-of-order",
        outcome: `new but sorts before ${lastApplied}, which is applied (files apply in folder-name order): \`up\` refuses before anything runs; rename its folder to sort after it`,
      });
    }
    pending.push({ file, statements: locks.get(file.folder) ?? [], lint: input.lint.filter((l) => l.file === file.relativePath) });
  }
  refused.sort((x, y) => compareFolders(x.folder, y.folder));
  return {
    stack: input.stack,
    appliedFrom: input.appliedFrom,
    pending,
    refused,
    preview: input.preview,
    lintMajor: input.lintMajor,
    ...(input.drift ? { drift: input.drift } : {}),
    ...(input.rehearsal ? { rehearsal: input.rehearsal } : {}),
    ...(input.adoption ? { adoption: input.adoption } : {}),
  };
}
