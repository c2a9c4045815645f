import type { MigrationFile } from "./files.js";

/** What the engine tells the outside world while it works; the CLI turns these into lines. */
export type MigratorEvent =
  /** The embedded server is up: which PostgreSQL, and where its data really is. */
  | { type: "embedded-started"; version: string; dataDir: string }
  /** PostgreSQL 13: a killed migrator's statement runs on to its end (no client_connection_check_interval). */
  | { type: "no-dead-client-check"; serverVersion: number }
  /** The session's search_path would put unqualified objects in the ledger's schema (its "$user"): the files run without it. */
  | { type: "search-path-adjusted"; was: string; now: string; schema: string }
  | { type: "lock-waiting"; holder: string | undefined }
  | { type: "lock-acquired"; waitedMs: number }
  /** The plan is made (under the lock): the files applied before this run, in version order. */
  | { type: "planned"; alreadyApplied: { folder: string; version: string; name: string; status: string; transactional: boolean }[]; pending: number }
  /** Files Prisma finished, recorded as adopted (one transaction, none run), before any pending file. */
  | { type: "adopted"; files: MigrationFile[] }
  | { type: "file-started"; file: MigrationFile; attempt: number }
  | { type: "file-applied"; file: MigrationFile; durationMs: number }
  | { type: "file-baselined"; file: MigrationFile }
  | { type: "file-completed-earlier"; file: MigrationFile; index: string }
  | { type: "lock-timeout-retry"; file: MigrationFile; attempt: number; delayMs: number; blocker: string | undefined }
  | { type: "invalid-index-dropped"; file: MigrationFile; index: string }
  /** The schema's catalog recorded beside the ledger at the applied head (migrator/catalog/snapshot.ts). */
  | { type: "snapshot-recorded"; head: string; sha256: string }
  | { type: "snapshot-failed"; message: string }
  /** `apply --fail-on-drift`: the schema is the snapshot's at the applied head, so the pending files run. */
  | { type: "drift-none"; head: string; sha256: string }
  /** `apply --fail-on-drift` could not compare (no snapshot at the head, another normaliser): said, and the run goes on. */
  | { type: "drift-unchecked"; reason: string }
  /** The schema had drifted before the run and the pending files did not settle it: the new snapshot keeps it as drift (catalog/carry.ts). */
  | { type: "drift-carried"; head: string; differences: number }
  /** The tables' privileges were made what the caller's intent says (migrator/privileges/enforce.ts): what changed, if anything. */
  | { type: "privileges-enforced"; changes: string[] };

export interface Reporter {
  event(e: MigratorEvent): void;
}
