import type pg from "pg";
import { withAdvisoryLock } from "./advisory-lock.js";
import { applySteps, type ApplySettings } from "./apply.js";
import { diffCatalogs, changeLine, driftLine, fingerprintOf, summariseChanges, takeCatalog, type CatalogDifference, type NormalisedCatalog } from "./catalog/index.js";
import { qualified } from "./catalog/normalise.js";
import { withReplay } from "./catalog/replay.js";
import { statusOf, type MigratorContext } from "./commands.js";
import { withClientWhile, type ConnectionTarget } from "./connection.js";
import { appliedFiles, roleNames, withoutOwners } from "./drift.js";
import { formatProblem, MigrationFailedError } from "./errors.js";
import { readMigrationSet, type MigrationFile, type MigrationSet } from "./files.js";
import { readLedger, quoteIdent } from "./ledger.js";
import { filesAfter } from "./lint-scope.js";
import { compareLocks, PG_LOCK_MODES, type HeldLock, type LockComparison, type PredictedLock } from "./rehearse-locks.js";
import { viewAdoption } from "./prisma-adopt.js";
import { isLarge, type TableSize } from "./rehearse-size.js";
import { tableWork, type TableWork } from "./rehearse-work.js";
import type { Reporter } from "./reporter.js";
import { serverVersionNum } from "./server-version.js";
import type { RelationName } from "./statements.js";
import { setLocks } from "./table-locks.js";
import { majorOf } from "./version-rules.js";

/**
 * `migrate rehearse`: the pending files applied on a throw-away embedded PostgreSQL of the target's
 * major, after a replay of the applied ones, with what each file changed in the schema, the table
 * locks it really held, and (with the target reachable) the size of each table it rewrites or
 * scans there. The target is only read, on a read-only session, under the migration lock.
 */

export type ChangeSummary = ReturnType<typeof summariseChanges>;

export interface RehearsedFile {
  folder: string;
  file: string;
  mode: MigrationFile["mode"];
  outcome: "applied" | "failed" | "not rehearsed";
  durationMs?: number;
  /** For a failed file: the error, with file:line. */
  error?: { message: string; file?: string; line?: number; column?: number; sqlState?: string };
  /** What the file changed, from the catalogs before and after it. */
  changes?: { summary: ChangeSummary; lines: string[] };
  /** A transactional file's table locks, read from pg_locks just before its COMMIT, against the prediction. */
  locks?: LockComparison;
  /** Why the locks of a transactional file could not be read (pg_locks refused): not a failure of the file. */
  locksUnread?: string;
  /** Tables whose storage the file replaced (a new relfilenode): rewritten, whatever the rules foresaw. */
  rewrote?: string[];
  /** Statements that read or rewrite a whole table, with the table's size on the target when it was read. */
  work: { line: number; table: string; work: TableWork["work"]; why: string; size?: TableSize; large: boolean }[];
}

export interface Rehearsal {
  /** The target, when one was read. */
  database?: string;
  serverVersion: string;
  major: number;
  /** Where the major came from: the database's server, --pg-version, the stack's engineVersion (the review without a database), or the default. */
  majorFrom: "database" | "--pg-version" | "stack" | "default";
  /** Where the applied part came from: the database's ledger, --since, the stack's state (the review without a database), or none. */
  applied: { files: number; from: "ledger" | "--since" | "stack" | "none"; head: string | null };
  /** With a target: the replay of the applied files against its live catalog. */
  drift?: { matches: boolean; liveSha256: string; replaySha256: string; differences: (CatalogDifference & { line: string })[] };
  pending: RehearsedFile[];
  summary: { applied: number; failed: number; changes: ChangeSummary; lockFindings: number; largeTableWork: number };
  largeTableRows: number;
  notes: string[];
}

export interface RehearseOptions {
  /** Without a target: the files up to and including this folder (or version) are the applied part. */
  since?: string;
  /** Without a target: the major to rehearse on (default 17). */
  pgMajor?: number;
  largeTableRows: number;
}

export const DEFAULT_REHEARSAL_MAJOR = 17;

/** When the applied part cannot be replayed, nothing can be rehearsed on top of it. */
const REHEARSAL_INSTEAD =
  "nothing was rehearsed, since the pending files build on the applied ones; `migrate drift` compares the database with its recorded snapshot instead";

const SILENT: Reporter = { event: () => {} };

/** What the rehearsal needs from the target, read on one read-only session. */
export interface TargetState {
  display: string;
  live: NormalisedCatalog;
  major: number;
  roles: string[];
  applied: MigrationFile[];
  pending: MigrationFile[];
  head: string | null;
  sizes: Map<string, TableSize>;
  notes: string[];
}

/** The table as the target resolves it with its own search_path: a key for `sizes`. */
export function sizeKey(r: RelationName): string {
  return r.schema ? `${quoteIdent(r.schema)}.${quoteIdent(r.name)}` : quoteIdent(r.name);
}

/** Every table the pending files' statements name (their predicted locks and their whole-table work). */
function tablesNamed(pending: readonly MigrationFile[], set: MigrationSet): string[] {
  const names = new Set<string>();
  const folders = new Set(pending.map((f) => f.folder));
  for (const f of setLocks(set.files)) {
    if (!folders.has(f.folder)) continue;
    for (const s of f.statements) for (const l of s.locks.locks) if (l.table) names.add(sizeKey(l.table));
  }
  for (const f of pending) for (const s of f.statements) for (const w of tableWork(s.sql)) names.add(sizeKey(w.table));
  return [...names].sort();
}

/** Row estimates and pages of the named tables that exist on the target (pg_class only: no table is read). */
async function readSizes(client: pg.ClientBase, names: readonly string[]): Promise<Map<string, TableSize>> {
  const { rows } = await client.query<{ given: string; rows: string; pages: number; block: string }>(
    `SELECT x AS given, c.reltuples::float8::text AS rows, c.relpages AS pages, current_setting('block_size') AS block
       FROM unnest($1::text[]) AS x JOIN pg_class c ON c.oid = to_regclass(x)`,
    [names],
  );
  return new Map(
    rows.map((r) => {
      const estimate = Number(r.rows);
      // PostgreSQL 14+ says -1 for a table never vacuumed or analysed; 13 says 0 then (and for an empty one).
      return [r.given, { rows: estimate < 0 ? null : Math.round(estimate), pages: r.pages, bytes: r.pages * Number(r.block) }];
    }),
  );
}

/**
 * Connects read-only: every transaction of the session is READ ONLY, so nothing the rehearsal
 * runs there can write, whatever a bug might send. Checked before anything else runs.
 */
async function makeReadOnly(client: pg.ClientBase, display: string): Promise<void> {
  await client.query("SET default_transaction_read_only = on");
  const { rows } = await client.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro");
  if (rows[0]?.ro !== "on") throw new Error(`the session on ${display} is not read-only; nothing was rehearsed`);
}

/** Reads the target (ledger, live catalog, roles, major, table sizes) under the migration lock, read-only. */
export async function readTargetState(
  client: pg.ClientBase,
  ctx: Pick<MigratorContext, "ledger" | "lockWaitMs" | "reporter" | "dir">,
  set: MigrationSet,
  display: string,
): Promise<TargetState> {
  await makeReadOnly(client, display);
  return withAdvisoryLock(client, ctx.ledger, ctx.lockWaitMs, ctx.reporter, async () => {
    const own = await readLedger(client, ctx.ledger, set);
    // A database Prisma migrated and not adopted yet: what `apply` will adopt counts as applied, as it will there.
    const adoption = await viewAdoption(client, set, own, {});
    const rows = adoption.ledger;
    const done = rows.filter((r) => r.status !== "started");
    const notes: string[] = [];
    if (adoption.adoptions.length > 0) {
      notes.push(
        `${adoption.adoptions.length} file${adoption.adoptions.length === 1 ? "" : "s"} of Prisma's history (${adoption.table}) counted as applied: \`apply\` adopts them, running none`,
      );
    }
    for (const problem of adoption.problems) notes.push(`\`apply\` would refuse to adopt Prisma's history: ${formatProblem(problem)}`);
    const applied = appliedFiles(
      done.map((r) => ({ folder: r.folder, checksum: r.checksum })),
      set.files,
      ctx.dir,
      notes,
      "since the rehearsal replays every applied file before the pending ones",
    );
    // The planner's own rule says what is pending (an edited applied file is not: status names it).
    const pendingFolders = new Set(statusOf(set, rows, {}, display).pending.map((p) => p.folder));
    const pending = set.files.filter((f) => pendingFolders.has(f.folder));
    return {
      display,
      live: await takeCatalog(client, ctx.ledger),
      major: majorOf(await serverVersionNum(client)),
      roles: await roleNames(client),
      applied,
      pending,
      head: applied.at(-1)?.folder ?? null,
      sizes: await readSizes(client, tablesNamed(pending, set)),
      notes,
    };
  });
}

/** Relation locks on tables held by this backend, less the migrator's own ledger tables. */
async function heldLocks(client: pg.ClientBase, settings: ApplySettings): Promise<HeldLock[]> {
  const { rows } = await client.query<{ schema: string; table: string; mode: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, l.mode
       FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND NOT (n.nspname = $1::text AND c.relname IN ($2::text, $2::text || '_snapshots'))`,
    [settings.ledger.schema, settings.ledger.table],
  );
  return rows.filter((r) => PG_LOCK_MODES[r.mode]).map((r) => ({ schema: r.schema, table: r.table, mode: PG_LOCK_MODES[r.mode]! }));
}

/** Each table's storage (relfilenode), to see which ones a file rewrote. */
async function fileNodes(client: pg.ClientBase): Promise<Map<string, string>> {
  const { rows } = await client.query<{ schema: string; table: string; node: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, c.relfilenode::text AS node
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`,
  );
  return new Map(rows.map((r) => [qualified(r.schema, r.table), r.node]));
}

function emptySummary(): ChangeSummary {
  return { added: {}, removed: {}, altered: {} };
}

function addSummary(total: ChangeSummary, part: ChangeSummary): void {
  for (const change of ["added", "removed", "altered"] as const) {
    for (const [kind, n] of Object.entries(part[change]))
      total[change][kind as keyof ChangeSummary["added"]] = (total[change][kind as keyof ChangeSummary["added"]] ?? 0) + (n ?? 0);
  }
}

export interface RehearsalInput {
  set: MigrationSet;
  applied: readonly MigrationFile[];
  pending: readonly MigrationFile[];
  major: number;
  majorFrom: Rehearsal["majorFrom"];
  appliedFrom: Rehearsal["applied"]["from"];
  roles: readonly string[];
  target?: Pick<TargetState, "display" | "live" | "sizes">;
  settings: ApplySettings;
  largeTableRows: number;
  notes?: string[];
}

/** Rehearses `pending` after a replay of `applied` on a scratch server of `major` (the pure parts: rehearse-locks.ts, rehearse-work.ts). */
export async function rehearse(input: RehearsalInput): Promise<Rehearsal> {
  const predictions = new Map(setLocks(input.set.files).map((f) => [f.folder, f.statements]));
  return withReplay(input.applied, input.major, input.roles, input.settings, REHEARSAL_INSTEAD, async (client, replay) => {
    let drift: Rehearsal["drift"];
    if (input.target) {
      const expected = withoutOwners(replay.catalog);
      const live = withoutOwners(input.target.live);
      const differences = diffCatalogs(expected, live).map((d) => ({ ...d, line: driftLine(d) }));
      drift = { matches: differences.length === 0, liveSha256: fingerprintOf(live), replaySha256: fingerprintOf(expected), differences };
    }
    const total = emptySummary();
    const rehearsed: RehearsedFile[] = [];
    // Read once: each file goes through applySteps on its own, which would read it again.
    const settings: ApplySettings = { ...input.settings, serverVersionNum: await serverVersionNum(client) };
    let before = replay.catalog;
    let failed = false;
    for (const file of input.pending) {
      const work = file.statements.flatMap((s) =>
        tableWork(s.sql).map((w) => {
          const size = input.target?.sizes.get(sizeKey(w.table));
          return {
            line: s.line,
            table: qualified(w.table.schema ?? "public", w.table.name),
            work: w.work,
            why: w.why,
            ...(size ? { size } : {}),
            large: size ? isLarge(size, input.largeTableRows) : false,
          };
        }),
      );
      const base = { folder: file.folder, file: file.relativePath, mode: file.mode, work };
      if (failed) {
        rehearsed.push({ ...base, outcome: "not rehearsed" });
        continue;
      }
      const predicted: PredictedLock[] = (predictions.get(file.folder) ?? []).flatMap((s) => s.locks.locks.map((l) => ({ ...l, line: s.line })));
      let held: HeldLock[] | undefined;
      let unread: string | undefined;
      const nodesBefore = await fileNodes(client);
      const outcome = await applyOne(client, file, {
        ...settings,
        // A failure to read pg_locks is the rehearsal's, not the file's: said, and the file commits.
        beforeCommit: async (c) => {
          // Under a savepoint: an error must not abort the file's transaction (its COMMIT would then roll it back).
          await c.query("SAVEPOINT rehearsal_locks");
          try {
            held = await heldLocks(c, input.settings);
            await c.query("RELEASE SAVEPOINT rehearsal_locks");
          } catch (error) {
            unread = (error as Error).message;
            await c.query("ROLLBACK TO SAVEPOINT rehearsal_locks").catch(() => {});
          }
        },
      });
      if (outcome.failure) {
        failed = true;
        const e = outcome.failure;
        rehearsed.push({
          ...base,
          outcome: "failed",
          error:
            e instanceof MigrationFailedError
              ? {
                  message: e.message,
                  file: e.file,
                  line: e.line,
                  ...(e.column === undefined ? {} : { column: e.column }),
                  ...(e.server.sqlState ? { sqlState: e.server.sqlState } : {}),
                }
              : { message: e.message },
        });
        continue;
      }
      const after = await takeCatalog(client, input.settings.ledger);
      const differences = diffCatalogs(before, after);
      before = after;
      const summary = summariseChanges(differences);
      addSummary(total, summary);
      const nodesAfter = await fileNodes(client);
      const rewrote = [...nodesBefore].filter(([table, node]) => nodesAfter.has(table) && nodesAfter.get(table) !== node).map(([table]) => table);
      rehearsed.push({
        ...base,
        outcome: "applied",
        durationMs: Math.round(outcome.results[0]?.durationMs ?? 0),
        changes: { summary, lines: differences.map(changeLine) },
        ...(held ? { locks: compareLocks(predicted, held) } : {}),
        ...(unread !== undefined ? { locksUnread: unread } : {}),
        ...(rewrote.length > 0 ? { rewrote } : {}),
      });
    }
    return {
      ...(input.target ? { database: input.target.display } : {}),
      serverVersion: replay.serverVersion,
      major: input.major,
      majorFrom: input.majorFrom,
      applied: { files: input.applied.length, from: input.appliedFrom, head: input.applied.at(-1)?.folder ?? null },
      ...(drift ? { drift } : {}),
      pending: rehearsed,
      summary: {
        applied: rehearsed.filter((f) => f.outcome === "applied").length,
        failed: rehearsed.filter((f) => f.outcome === "failed").length,
        changes: total,
        lockFindings: rehearsed.reduce((n, f) => n + (f.locks?.findings.length ?? 0), 0),
        largeTableWork: rehearsed.reduce((n, f) => n + f.work.filter((w) => w.large).length, 0),
      },
      largeTableRows: input.largeTableRows,
      notes: input.notes ?? [],
    };
  });
}

/** One file through the migrator's own apply, as `apply` runs it (transaction mode, timeouts, directives). */
function applyOne(client: pg.ClientBase, file: MigrationFile, settings: ApplySettings) {
  return applySteps(client, [{ action: "apply", file, resumed: false }], settings, SILENT);
}

/** Resolves what is applied and pending and on which major, from the target or the options, then rehearses. */
export async function rehearseCommand(ctx: MigratorContext, options: RehearseOptions): Promise<Rehearsal> {
  if (ctx.target) {
    const target: ConnectionTarget = ctx.target;
    const { set, state } = await withClientWhile(
      target,
      () => readMigrationSet(ctx.dir),
      async (client, set) => ({ set, state: await readTargetState(client, ctx, set, target.display) }),
    );
    return rehearse({
      set,
      applied: state.applied,
      pending: state.pending,
      major: state.major,
      majorFrom: "database",
      appliedFrom: "ledger",
      roles: state.roles,
      target: state,
      settings: ctx.apply,
      largeTableRows: options.largeTableRows,
      notes: state.notes,
    });
  }
  const set = await readMigrationSet(ctx.dir);
  const pending = options.since !== undefined ? filesAfter(set, options.since) : set.files;
  const pendingFolders = new Set(pending.map((f) => f.folder));
  return rehearse({
    set,
    applied: set.files.filter((f) => !pendingFolders.has(f.folder)),
    pending,
    major: options.pgMajor ?? DEFAULT_REHEARSAL_MAJOR,
    majorFrom: options.pgMajor !== undefined ? "--pg-version" : "default",
    appliedFrom: options.since !== undefined ? "--since" : "none",
    roles: [],
    settings: ctx.apply,
    largeTableRows: options.largeTableRows,
  });
}
