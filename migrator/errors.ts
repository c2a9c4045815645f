/** Where a problem is: a file of the set (relative to its folder) and, when known, a line and column. */
export interface Problem {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}${p.column === undefined ? "" : `:${p.column}`}`;
  return `${where}: ${p.message}`;
}

/** Exit codes of the CLI; the stacks' commands and CI scripts branch on them. */
export const ExitCode = {
  ok: 0,
  /** A migration or check failed, or the database disagrees with the files. */
  failed: 1,
  /** Bad usage or a bad migration set, found before anything ran. */
  usage: 2,
} as const;

/** Bad arguments or settings: nothing was run. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The migration set itself is wrong (syntax, layout, directives); every problem found is listed. */
/**
 * What a refusal meant, said after it: `apply` refused, so nothing was applied; the verbs that
 * never apply (plan, status, lint…) say what apply would do instead.
 */
export const NOTHING_APPLIED = "; nothing was applied";
export const APPLY_WOULD_REFUSE = "; apply would refuse before running anything";

export class MigrationSetError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly problems: Problem[],
    readonly consequence: string = NOTHING_APPLIED,
  ) {
    super(
      `the migration set has ${problems.length} problem${problems.length === 1 ? "" : "s"}${consequence}:\n` + problems.map((p) => `  ${formatProblem(p)}`).join("\n"),
    );
    this.name = "MigrationSetError";
  }
}

/** The database's ledger disagrees with the files on disk; every disagreement is listed. */
export class LedgerConflictError extends Error {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly problems: Problem[],
    readonly consequence: string = NOTHING_APPLIED,
  ) {
    super(`the database disagrees with the migration files${consequence}:\n` + problems.map((p) => `  ${formatProblem(p)}`).join("\n"));
    this.name = "LedgerConflictError";
  }
}

/** The files on disk are not the set the caller reviewed (`apply --expect-manifest`); every difference is listed. */
export class ManifestMismatchError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(readonly problems: Problem[]) {
    super(
      `the migration set on disk is not the one that was reviewed; nothing was applied (preview again, then apply what the preview shows):\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join("\n"),
    );
    this.name = "ManifestMismatchError";
  }
}

/**
 * `apply --fail-on-drift`: the schema differs from the snapshot recorded at the applied head, so
 * the pending files would build on a schema no reviewed migration made. Nothing was applied.
 */
export class SchemaDriftError extends Error {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly head: string,
    readonly snapshotSha256: string,
    readonly differences: { kind: string; name: string; change: string; field?: string; line: string }[],
  ) {
    const n = differences.length;
    super(
      `the database's schema drifted from the snapshot recorded at ${head} (sha256 ${snapshotSha256}): ${n} difference${n === 1 ? "" : "s"}; ` +
        `nothing was applied (--fail-on-drift):\n` +
        differences.map((d) => `  ${d.line}`).join("\n") +
        `\nEither undo it in the database (restore the object as the migrations define it) and apply again, or write a migration that ` +
        `makes the change the files' own (written so that it holds on this database, e.g. ADD COLUMN IF NOT EXISTS) and apply it once ` +
        `without --fail-on-drift (in a stack: failOnDrift false for that one up). \`migrate drift\` shows where things stand.`,
    );
    this.name = "SchemaDriftError";
  }
}

/** Another migrator holds the lock for longer than we are willing to wait. */
export class MigrationLockTimeoutError extends Error {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly waitedMs: number,
    readonly holder: string | undefined,
  ) {
    super(
      `another migrator holds the migration lock on this database${holder ? ` (${holder})` : ""}; ` +
        `gave up after waiting ${Math.round(waitedMs / 1000)}s. Nothing was applied. ` +
        `Wait for it to finish and run again, or raise --lock-wait.`,
    );
    this.name = "MigrationLockTimeoutError";
  }
}

/**
 * The connection goes through a pooler that moves the session between server backends: refused
 * before the migration lock, with nothing done, because what the migrator promises rests on one
 * session staying on one backend.
 */
export class PooledConnectionError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(readonly evidence: string) {
    super(
      `this connection is not pinned to one server session: ${evidence}, so it goes through a transaction- or statement-pooling proxy ` +
        `(PgBouncer in pool_mode=transaction or statement, or one like it). Nothing was done. On such a connection the migration lock ` +
        `(a session advisory lock) could stay held on a pooled server connection or guard nothing, and SET lock_timeout and statement_timeout ` +
        `would land on whichever server connection ran them, so the statements after them (CREATE INDEX CONCURRENTLY among them) could run ` +
        `without those limits, and other clients' transactions with them. ` +
        "Connect to the database's direct endpoint instead (`database.endpoint` in the stack's outputs: `pulumi stack output database`), " +
        `or to a pooler in session mode.`,
    );
    this.name = "PooledConnectionError";
  }
}

/** Details that PostgreSQL attaches to an error (node-postgres DatabaseError fields). */
export interface ServerErrorDetails {
  sqlState?: string;
  detail?: string;
  hint?: string;
  where?: string;
}

/** A statement of a migration failed; names the file, the statement's line, and the server's error. */
export class MigrationFailedError extends Error {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number | undefined,
    readonly serverMessage: string,
    readonly server: ServerErrorDetails,
    readonly rolledBack: boolean,
    readonly advice: string,
    options?: { cause?: unknown },
  ) {
    const where = `${file}:${line}${column === undefined ? "" : `:${column}`}`;
    const parts = [
      `${where}: ${serverMessage}${server.sqlState ? ` (SQLSTATE ${server.sqlState})` : ""}`,
      server.detail ? `  detail: ${server.detail}` : "",
      server.hint ? `  hint: ${server.hint}` : "",
      server.where ? `  where: ${server.where}` : "",
      `  ${rolledBack ? "the file was rolled back as a whole; nothing of it is applied" : "this file ran outside a transaction; it is not recorded as applied"}`,
      `  ${advice}`,
    ];
    super(parts.filter(Boolean).join("\n"), options);
    this.name = "MigrationFailedError";
  }
}

/** An error that carries the exit code the CLI should end with. */
export function exitCodeOf(error: unknown): number {
  if (error && typeof error === "object" && "exitCode" in error && typeof error.exitCode === "number") {
    return error.exitCode;
  }
  return ExitCode.failed;
}
