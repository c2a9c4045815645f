import { LedgerConflictError, ManifestMismatchError, UsageError, type Problem } from "./errors.js";
import type { MigrationFile, MigrationSet } from "./files.js";
import { compareFolders, type LedgerRow } from "./ledger.js";
import { manifestDifferences, type ManifestEntry } from "./manifest.js";

export interface PlanOptions {
  /** Record files up to and including this one (a version or a folder) as baselined instead of running them. */
  baseline?: string;
  /** Apply exactly this one file, a version or a folder (`--only`); the earlier ones must be applied already. */
  only?: string;
  /** With `only`: the checksum the caller expects the file to have (what the preview showed). */
  expectChecksum?: string;
  /** The set as the caller reviewed it: any other set on disk is refused before anything runs. */
  expectManifest?: readonly ManifestEntry[];
  /** Let a new file that orders before an applied one run. */
  allowOutOfOrder?: boolean;
  /** Ledger rows with no file are tolerated (a file removed from the set). */
  ignoreUnknown?: boolean;
}

export type Step = { action: "apply"; file: MigrationFile; resumed: boolean } | { action: "baseline"; file: MigrationFile };

export interface Plan {
  steps: Step[];
  /** Files already in the ledger, with their rows. */
  applied: { file: MigrationFile; row: LedgerRow }[];
  /** Ledger rows whose file is gone (tolerated only with ignoreUnknown). */
  unknown: LedgerRow[];
}

/**
 * Accepts a folder name ("0_init") or a version ("0") and returns the file it names. A version
 * two folders share names neither: the message lists them.
 */
export function findFile(set: MigrationSet, versionOrFolder: string, flag: string): MigrationFile {
  const byFolder = set.files.find((f) => f.folder === versionOrFolder);
  if (byFolder) return byFolder;
  const byVersion = set.files.filter((f) => f.version === versionOrFolder);
  if (byVersion.length > 1) {
    throw new UsageError(
      `${flag} ${versionOrFolder}: ${byVersion.length} folders have that version (${byVersion.map((f) => f.folder).join(", ")}); name one by its folder`,
    );
  }
  if (byVersion.length === 0) {
    const known = set.files.map((f) => f.folder);
    const sample = known.length > 6 ? [...known.slice(0, 3), "…", ...known.slice(-2)] : known;
    throw new UsageError(`${flag} ${versionOrFolder}: no migration has that version or folder name (folders: ${sample.join(", ") || "none"})`);
  }
  return byVersion[0]!;
}

/**
 * Decides what to run: pure, given the files and the ledger. Disagreements between the
 * database and the files are collected and thrown together; nothing is planned past them.
 */
export function plan(set: MigrationSet, ledger: readonly LedgerRow[], options: PlanOptions = {}): Plan {
  if (options.expectManifest) {
    const differences = manifestDifferences(set, options.expectManifest);
    if (differences.length > 0) throw new ManifestMismatchError(differences);
  }
  const byFolder = new Map(set.files.map((f) => [f.folder, f]));
  const problems: Problem[] = [];
  const applied: Plan["applied"] = [];
  const unknown: LedgerRow[] = [];
  const done = new Set<string>();
  const started = new Set<string>();

  for (const row of ledger) {
    const file = byFolder.get(row.folder);
    if (!file) {
      if (row.status !== "started") unknown.push(row);
      continue;
    }
    if (row.status === "started") {
      // Resuming trusts what the interrupted run left (a finished index is recorded as is); that
      // holds only for the same file. An edited one runs as new, so a leftover index is not
      // silently taken for the edited definition.
      if (row.checksum === file.checksum) started.add(row.folder);
      continue;
    }
    if (row.checksum !== file.checksum) {
      problems.push({
        file: file.relativePath,
        message:
          `was edited after it was ${row.status} (${row.appliedAt.toISOString()}): checksum ${row.checksum.slice(0, 12)}… in the ledger, ${file.checksum.slice(0, 12)}… on disk. ` +
          `An applied migration is never run again; restore the file as it was and write a new migration with the change`,
      });
    }
    done.add(row.folder);
    applied.push({ file, row });
  }
  if (unknown.length > 0 && !options.ignoreUnknown) {
    for (const row of unknown) {
      problems.push({
        file: row.folder,
        message: `is recorded in the database as ${row.status} but no such migration is in the set (a renamed folder counts as removed); restore its folder, or pass --ignore-unknown if it was removed on purpose`,
      });
    }
  }

  const lastDone = [...done].sort(compareFolders).at(-1);
  const pending = set.files.filter((f) => !done.has(f.folder));
  const baselineFile = options.baseline === undefined ? undefined : findFile(set, options.baseline, "--baseline");
  const baselined = (file: MigrationFile) => baselineFile !== undefined && compareFolders(file.folder, baselineFile.folder) <= 0;

  if (lastDone !== undefined && !options.allowOutOfOrder) {
    for (const file of pending) {
      if (compareFolders(file.folder, lastDone) < 0 && !baselined(file)) {
        problems.push({
          file: file.relativePath,
          message: `is new but sorts before ${lastDone}, which is already applied (files apply in folder-name order); rename its folder to sort after ${lastDone}, or pass --allow-out-of-order if it does not depend on what came after`,
        });
      }
    }
  }

  let steps: Step[] = pending.map((file) =>
    baselined(file) ? { action: "baseline" as const, file } : { action: "apply" as const, file, resumed: started.has(file.folder) },
  );

  if (options.only !== undefined) {
    const target = findFile(set, options.only, "--only");
    if (options.expectChecksum !== undefined && options.expectChecksum !== target.checksum) {
      throw new UsageError(
        `--only ${options.only}: ${target.relativePath} has checksum ${target.checksum.slice(0, 12)}… but ${options.expectChecksum.slice(0, 12)}… was expected; the file changed since it was planned (preview again)`,
      );
    }
    const earlier = steps.filter((s) => compareFolders(s.file.folder, target.folder) < 0);
    if (!done.has(target.folder) && earlier.length > 0 && !options.allowOutOfOrder) {
      problems.push({
        file: target.relativePath,
        message: `cannot run alone: ${earlier.length} earlier migration${earlier.length === 1 ? " is" : "s are"} still pending (${earlier
          .map((s) => s.file.folder)
          .slice(0, 5)
          .join(", ")}); apply them first`,
      });
    }
    steps = steps.filter((s) => s.file.folder === target.folder);
  }

  if (problems.length > 0) throw new LedgerConflictError(problems);
  return { steps, applied, unknown };
}
