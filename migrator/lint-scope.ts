import { UsageError } from "./errors.js";
import { FOLDER, type MigrationFile, type MigrationSet } from "./files.js";

/**
 * Which files lint looks at (pure). By default what a change adds: an applied file ran long ago,
 * so a finding in it cannot be acted on (editing it is refused), and a gate that failed on it could
 * never be switched on for a set adopted with years of history. So:
 *
 * - `pending`: the files a database's ledger lacks (the caller asks the planner), or that the
 *   stack's last state does not list as applied;
 * - `since`: the files ordering after a folder (Prisma's order: by folder name), for a check with no
 *   database, such as a pull request against its base branch;
 * - `all`: every file (`lint --all`), and what a new database has pending.
 */
export type LintScope = { kind: "all"; why: string } | { kind: "since"; folder: string } | { kind: "pending"; pending: ReadonlySet<string>; from: string };

export interface LintSelection {
  scope: LintScope["kind"];
  files: MigrationFile[];
  /** For people: how many files and which ("1 pending file of 36"), and why when it is not plain. */
  what: string;
  why?: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Files after `since`: a version or folder of the set, or any folder name (a folder the set no
 * longer has still orders the others). A bare version that names no file is refused: "5" would sort
 * before "5_x" and take it in.
 */
export function filesAfter(set: MigrationSet, since: string): MigrationFile[] {
  const named = set.files.find((f) => f.folder === since || f.version === since);
  if (named) return set.files.filter((f) => f.folder > named.folder);
  if (!FOLDER.test(since)) {
    throw new UsageError(`--since ${since}: no migration has that version or folder name, and it is not a folder name (<version>_<name>)`);
  }
  return set.files.filter((f) => f.folder > since);
}

export function selectForLint(set: MigrationSet, scope: LintScope): LintSelection {
  const of = `of ${set.files.length}`;
  switch (scope.kind) {
    case "all":
      return { scope: "all", files: set.files, what: `every file (${set.files.length})`, why: scope.why };
    case "since": {
      const files = filesAfter(set, scope.folder);
      return { scope: "since", files, what: `${plural(files.length, "file")} ${of} after ${scope.folder}` };
    }
    case "pending": {
      const files = set.files.filter((f) => scope.pending.has(f.folder));
      return { scope: "pending", files, what: `${plural(files.length, "pending file")} ${of}`, why: scope.from };
    }
  }
}
