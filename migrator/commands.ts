import type pg from "pg";
import { applySteps, type ApplySettings, type StepResult } from "./apply.js";
import { withClientWhile, type ConnectionTarget } from "./connection.js";
import { withEmbeddedDatabase } from "./embedded/server.js";
import { LedgerConflictError, SchemaDriftError, type Problem } from "./errors.js";
import { readMigrationSet, type MigrationSet, type RunMode } from "./files.js";
import { ensureLedger, readLedger, type LedgerLocation, type LedgerRow } from "./ledger.js";
import { withAdvisoryLock } from "./advisory-lock.js";
import { compareWithSnapshotCatalogs, snapshotAfterRun, withLockTimeout, type DriftBase } from "./catalog/snapshot.js";
import { plan, type PlanOptions } from "./plan.js";
import { adoptedFiles, viewAdoption, type AdoptedFile } from "./prisma-adopt.js";
import type { PrismaHistoryMode } from "./prisma-history.js";
import { findPrismaTable, prepareMirror, recordAdoptions, withPrismaLock } from "./prisma-table.js";
import { enforcePrivileges } from "./privileges/enforce.js";
import type { PrivilegeIntent } from "./privileges/intent.js";
import type { Reporter } from "./reporter.js";
import type { Adoption } from "./prisma-history.js";
import { searchPathForFiles } from "./search-path.js";
import { assertServerCanRun, serverVersionNum } from "./server-version.js";
import { readVerifyFiles, verify, type VerifyReport } from "./verify.js";
import { majorOf } from "./version-rules.js";

/** Everything a verb needs, validated once by the CLI (or built by a caller such as the main job). */
export interface MigratorContext {
  dir: string;
  verifyDir: string;
  /** The database to use; undefined means the embedded server under `embeddedDir`. */
  target: ConnectionTarget | undefined;
  embeddedDir: string;
  ledger: LedgerLocation;
  apply: ApplySettings;
  /** How long to wait for another migrator's lock before giving up. */
  lockWaitMs: number;
  planOptions: PlanOptions;
  /** `apply --fail-on-drift`: refuse to apply pending files while the schema differs from its snapshot. */
  failOnDrift?: boolean;
  /** `apply --prisma-history mirror`: also write Prisma's row for every file recorded (default ignore: Prisma's table is only read, to adopt). */
  prismaHistory?: PrismaHistoryMode;
  /** The table privileges the caller intends: `apply` makes them so, `verify` compares (none: neither). */
  privileges?: PrivilegeIntent;
  reporter: Reporter;
}

/**
 * Reads the local inputs (`read`: the set, the checks) and opens the named database at the same
 * time, or runs on the embedded server (which starts only after the inputs are read, so bad input
 * never starts a server).
 */
export async function withDatabase<S, T>(ctx: MigratorContext, read: () => Promise<S>, fn: (client: pg.Client, where: string, input: S) => Promise<T>): Promise<T> {
  if (ctx.target) return withClientWhile(ctx.target, read, (client, input) => fn(client, ctx.target!.display, input));
  const input = await read();
  return withEmbeddedDatabase(ctx.embeddedDir, ctx.reporter, (client, where) => fn(client, where, input));
}

export interface StatusReport {
  database: string;
  applied: {
    folder: string;
    version: string;
    name: string;
    checksum: string;
    transactional: boolean;
    appliedAt: string;
    durationMs: number | null;
    status: string;
    appliedBy: string;
  }[];
  pending: { folder: string; version: string; name: string; transactional: boolean; resumes: boolean }[];
  /** Files Prisma finished that the next apply records as adopted, running none of them (Prisma's `_prisma_migrations`). */
  adopts: AdoptedFile[];
  /** Disagreements between the database and the files (edited, unknown, out of order), and what stops adoption. */
  problems: Problem[];
}

/** `adoption`: what the next apply would adopt from Prisma's history, and what stops it (viewAdoption). */
export function statusOf(
  set: MigrationSet,
  ledger: LedgerRow[],
  options: PlanOptions,
  database: string,
  adoption: { adoptions: Adoption[]; problems: Problem[]; ledger: LedgerRow[] } = { adoptions: [], problems: [], ledger },
): StatusReport {
  let problems: Problem[] = [...adoption.problems];
  if (problems.length === 0) {
    try {
      plan(set, adoption.ledger, { ...options, only: undefined, baseline: undefined });
    } catch (error) {
      if (!(error instanceof LedgerConflictError)) throw error;
      problems = error.problems;
    }
  }
  const done = ledger.filter((r) => r.status !== "started");
  const doneFolders = new Set([...done.map((r) => r.folder), ...adoption.adoptions.map((a) => a.file.folder)]);
  // Same rule as the planner: only the very file an interrupted run started resumes.
  const started = new Set(ledger.filter((r) => r.status === "started" && set.files.some((f) => f.folder === r.folder && f.checksum === r.checksum)).map((r) => r.folder));
  return {
    database,
    applied: done.map((r) => ({
      folder: r.folder,
      version: r.version,
      name: r.name,
      checksum: r.checksum,
      transactional: r.transactional,
      appliedAt: r.appliedAt.toISOString(),
      durationMs: r.durationMs,
      status: r.status,
      appliedBy: r.appliedBy,
    })),
    pending: set.files
      .filter((f) => !doneFolders.has(f.folder))
      .map((f) => ({ folder: f.folder, version: f.version, name: f.name, transactional: f.transactional, resumes: started.has(f.folder) })),
    adopts: adoptedFiles(adoption.adoptions),
    problems,
  };
}

export async function statusCommand(ctx: MigratorContext): Promise<StatusReport> {
  return withDatabase(
    ctx,
    () => readMigrationSet(ctx.dir),
    async (client, where, set) => {
      const ledger = await readLedger(client, ctx.ledger, set);
      return statusOf(set, ledger, ctx.planOptions, where, await viewAdoption(client, set, ledger, ctx.planOptions));
    },
  );
}

export interface PlanReport {
  database: string;
  steps: {
    folder: string;
    version: string;
    name: string;
    file: string;
    action: "apply" | "baseline";
    transactional: boolean;
    mode: RunMode;
    statements: number;
    resumes: boolean;
  }[];
  /** Files Prisma finished that apply records as adopted first, running none of them. */
  adopts: AdoptedFile[];
}

export async function planCommand(ctx: MigratorContext): Promise<PlanReport> {
  return withDatabase(
    ctx,
    () => readMigrationSet(ctx.dir),
    async (client, where, set) => {
      const adoption = await viewAdoption(client, set, await readLedger(client, ctx.ledger, set), ctx.planOptions);
      if (adoption.problems.length > 0) throw new LedgerConflictError(adoption.problems);
      const planned = plan(set, adoption.ledger, ctx.planOptions);
      assertServerCanRun(planned.steps, await serverVersionNum(client));
      return {
        database: where,
        adopts: adoptedFiles(adoption.adoptions),
        steps: planned.steps.map((s) => ({
          folder: s.file.folder,
          version: s.file.version,
          name: s.file.name,
          file: s.file.relativePath,
          action: s.action,
          transactional: s.file.transactional,
          mode: s.file.mode,
          statements: s.file.statements.length,
          resumes: s.action === "apply" && s.resumed,
        })),
      };
    },
  );
}

export interface ApplyReport {
  database: string;
  results: StepResult[];
  /** Files applied before this run, untouched by it. */
  alreadyApplied: { folder: string; version: string; name: string; status: string; transactional: boolean }[];
  /** Files this run adopted from Prisma's history: recorded, none run. */
  adopted: AdoptedFile[];
  /** Files of the set still not applied after this run (with --only, the later ones). */
  stillPending: number;
  failure?: Error;
}

/** Plans under the migration lock (so two migrators never plan the same file) and applies. */
async function lockedApply(client: pg.Client, where: string, set: MigrationSet, ctx: MigratorContext): Promise<ApplyReport> {
  return withAdvisoryLock(client, ctx.ledger, ctx.lockWaitMs, ctx.reporter, async () => {
    // Where Prisma keeps a history (or is to, mirrored), Prisma's own lock too: its deploy must not run beside this.
    const prisma = ctx.prismaHistory === "mirror" || (await findPrismaTable(client)) !== undefined;
    return prisma ? withPrismaLock(client, () => applyLocked(client, where, set, ctx)) : applyLocked(client, where, set, ctx);
  });
}

/** The apply itself, under the migration lock (and Prisma's, where it keeps a history). */
async function applyLocked(client: pg.Client, where: string, set: MigrationSet, ctx: MigratorContext): Promise<ApplyReport> {
  // Planned and checked against the server before the ledger is created: a set this run refuses changes nothing.
  const rows = await readLedger(client, ctx.ledger, set);
  // A database Prisma migrated: the files it finished are checked by its rules and counted as done.
  const adoption = await viewAdoption(client, set, rows, ctx.planOptions);
  if (adoption.problems.length > 0) throw new LedgerConflictError(adoption.problems);
  const planned = plan(set, adoption.ledger, ctx.planOptions);
  const version = await serverVersionNum(client);
  assertServerCanRun(planned.steps, version);
  // One catalog read before any pending file: --fail-on-drift refuses on it, and otherwise the
  // drift it finds is carried into the snapshot after the run rather than taken in.
  const drift = planned.steps.length > 0 ? await driftBeforeApply(client, rows, ctx) : undefined;
  // Mirror mode's table and rights are checked before the ledger is touched: a role that cannot write it changes nothing.
  const apply = ctx.prismaHistory === "mirror" ? { ...ctx.apply, prismaMirror: await prepareMirror(client, set, adoption.ledger, adoption.texts) } : ctx.apply;
  await ensureLedger(client, ctx.ledger, set);
  const searchPath = planned.steps.length > 0 ? await searchPathForFiles(client, ctx.ledger) : undefined;
  if (searchPath) ctx.reporter.event({ type: "search-path-adjusted", ...searchPath });
  if (adoption.adoptions.length > 0) {
    await recordAdoptions(client, ctx.ledger, adoption.table!, adoption.adoptions);
    ctx.reporter.event({ type: "adopted", files: adoption.adoptions.map((a) => a.file) });
  }
  if (majorOf(version) < 14 && planned.steps.length > 0) ctx.reporter.event({ type: "no-dead-client-check", serverVersion: version });
  const adoptedNow = new Set(adoption.adoptions.map((a) => a.file.folder));
  const alreadyApplied = planned.applied
    .filter(({ file }) => !adoptedNow.has(file.folder))
    .map(({ file, row }) => ({
      folder: file.folder,
      version: file.version,
      name: file.name,
      status: row.status,
      transactional: row.transactional,
    }));
  // Said before anything runs, so progress reads in the order files apply: what was there, then what is new.
  ctx.reporter.event({ type: "planned", alreadyApplied, pending: planned.steps.length });
  let enforced: Promise<Error | undefined> | undefined;
  const enforce = () => (enforced ??= enforceIntent(client, ctx));
  const snapshot = snapshotAfterRun(client, ctx.ledger, ctx.reporter, ctx.apply.lockTimeoutMs, () =>
    drift ? { ...drift, statements: planned.steps.flatMap((s) => (s.action === "apply" ? s.file.statements : [])) } : undefined,
  );
  // Privileges first, so the snapshot (and drift after it) records them as they stay.
  const outcome = await applySteps(
    client,
    planned.steps,
    { ...apply, serverVersionNum: version, ...(searchPath ? { searchPath: searchPath.now } : {}) },
    ctx.reporter,
    async () => {
      await enforce();
      return snapshot();
    },
  );
  // An adoption with nothing to run still records the schema at its head, so drift has something to compare with.
  if (adoption.adoptions.length > 0 && planned.steps.length === 0) {
    await enforce();
    await snapshot();
  }
  // With nothing to apply, or after a failed file (the files before it may have created tables),
  // they are made right here; a failed file stays the news.
  const privilegeFailure = await enforce();
  // A failed run records no snapshot, except on a drifted database that the files before the
  // failure moved to a new head: with no snapshot there, the next run would have nothing to carry
  // the drift from and would take it in. Best effort (said if it fails); the failure stays the news.
  if (outcome.failure && drift && outcome.results.length > 0) await snapshot();
  const failure = outcome.failure ?? privilegeFailure;
  return {
    database: where,
    results: outcome.results,
    alreadyApplied,
    adopted: adoptedFiles(adoption.adoptions),
    stillPending: set.files.length - alreadyApplied.length - adoption.adoptions.length - outcome.results.length,
    ...(failure ? { failure } : {}),
  };
}

/**
 * Under the lock and before the ledger is touched, with files pending: the live catalog against
 * the snapshot at the applied head. Returns the drift to carry, if any (nothing to compare with,
 * or no difference: none).
 *
 * `--fail-on-drift`: pending files would build on a schema no reviewed migration made, so a
 * drifted database stops the run with each difference. A database with nothing to compare with
 * (applied before snapshots, or a snapshot of another normaliser) is said and goes on: refusing it
 * would block every database older than this check.
 */
async function driftBeforeApply(client: pg.ClientBase, rows: readonly LedgerRow[], ctx: MigratorContext): Promise<Omit<DriftBase, "statements"> | undefined> {
  let compared: Awaited<ReturnType<typeof compareWithSnapshotCatalogs>>;
  try {
    // Reading a column default or a view's definition takes a table's ACCESS SHARE lock, so a
    // session holding ACCESS EXCLUSIVE would make the read wait: as long as a file would, no longer.
    compared = await withLockTimeout(client, ctx.apply.lockTimeoutMs, () => compareWithSnapshotCatalogs(client, ctx.ledger, rows));
  } catch (error) {
    const message = (error as Error).message;
    if (ctx.failOnDrift) {
      throw new Error(
        `comparing the schema with its snapshot before applying (--fail-on-drift): ${message}; nothing was applied. ` +
          `If a lock was waited for, run again when that transaction has finished, or raise --lock-timeout`,
        { cause: error },
      );
    }
    // Without the flag the comparison only keeps drift out of the next snapshot: said, and the run goes on.
    ctx.reporter.event({ type: "drift-unchecked", reason: `${message}; a change made by hand before this run would be taken into the snapshot it records` });
    return undefined;
  }
  const { comparison, snapshot, live } = compared;
  if (!comparison.checked) {
    // With nothing applied there is nothing to drift from: no line.
    if (ctx.failOnDrift && comparison.head !== null) ctx.reporter.event({ type: "drift-unchecked", reason: comparison.reason });
    return undefined;
  }
  if (comparison.differences.length === 0) {
    if (ctx.failOnDrift) ctx.reporter.event({ type: "drift-none", head: comparison.head, sha256: comparison.snapshot.sha256 });
    return undefined;
  }
  if (ctx.failOnDrift) throw new SchemaDriftError(comparison.head, comparison.snapshot.sha256, comparison.differences);
  return { old: snapshot!, before: live! };
}

/** Enforces the caller's privilege intent, if any; a failure is returned, to be reported as the run's. */
async function enforceIntent(client: pg.ClientBase, ctx: MigratorContext): Promise<Error | undefined> {
  if (!ctx.privileges) return undefined;
  try {
    ctx.reporter.event({ type: "privileges-enforced", changes: (await enforcePrivileges(client, ctx.privileges)).map((c) => c.says) });
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

export async function applyCommand(ctx: MigratorContext): Promise<ApplyReport> {
  return withDatabase(
    ctx,
    () => readMigrationSet(ctx.dir),
    (client, where, set) => lockedApply(client, where, set, ctx),
  );
}

/** The set and the verification checks: a missing verification folder is bad usage, found before anything runs. */
function readSetAndChecks(ctx: MigratorContext) {
  return async () => ({ set: await readMigrationSet(ctx.dir), checks: await readVerifyFiles(ctx.verifyDir) });
}

export async function verifyCommand(ctx: MigratorContext): Promise<VerifyReport> {
  return withDatabase(ctx, readSetAndChecks(ctx), (client, _where, { set, checks }) => verify(client, set, checks, ctx.ledger, ctx.privileges));
}

/** The main job: apply, then verify, on one database session (one embedded start). */
export async function applyAndVerify(ctx: MigratorContext): Promise<{ apply: ApplyReport; verify?: VerifyReport }> {
  return withDatabase(ctx, readSetAndChecks(ctx), async (client, where, { set, checks }) => {
    const applied = await lockedApply(client, where, set, ctx);
    if (applied.failure) return { apply: applied };
    return { apply: applied, verify: await verify(client, set, checks, ctx.ledger, ctx.privileges) };
  });
}
