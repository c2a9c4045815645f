import type pg from "pg";
import { MigrationFailedError } from "./errors.js";
import type { MigrationFile, Statement } from "./files.js";
import { serverVersionNum } from "./server-version.js";
import { forgetStarted, markAppliedSql, qualifiedName, quoteIdent, recordSql, SINCE_MESSAGE_ARRIVED, type LedgerLocation } from "./ledger.js";
import type { Step } from "./plan.js";
import { mirrorRowSql, type MirrorKind, type PrismaMirror } from "./prisma-table.js";
import type { Reporter } from "./reporter.js";
import type { RelationName } from "./statements.js";

export interface ApplySettings {
  ledger: LedgerLocation;
  /** Per-file default; a file's `-- migrate:lock-timeout` wins. 0 = wait forever (not advised). */
  lockTimeoutMs: number;
  /** Per-file default; a file's `-- migrate:statement-timeout` wins. 0 = no limit. */
  statementTimeoutMs: number;
  /** How many times a file is retried after a lock timeout before giving up. */
  lockRetries: number;
  /** First pause between retries; doubles each time, with jitter. */
  retryDelayMs: number;
  /** `--prisma-history mirror`: every file recorded also gets the row Prisma would have written, in the same transaction. */
  prismaMirror?: PrismaMirror;
  /** The server's server_version_num, when the caller has read it; applySteps reads it otherwise. */
  serverVersionNum?: number;
  /** A search_path for the files, when the session's own would put them in the ledger's schema (search-path.ts). */
  searchPath?: string;
  /**
   * Runs in a transactional file's own transaction after its statements and ledger row, just before
   * COMMIT (a failure rolls the file back): the rehearsal reads the locks the file holds (pg_locks).
   */
  beforeCommit?: (client: pg.ClientBase, file: MigrationFile) => Promise<void>;
}

export const DEFAULT_APPLY_SETTINGS: Omit<ApplySettings, "ledger"> = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  lockRetries: 5,
  retryDelayMs: 1_000,
};

export type StepAction = "applied" | "baselined" | "completed-earlier";

export interface StepResult {
  /** The folder, which identifies the file. */
  folder: string;
  version: string;
  name: string;
  file: string;
  transactional: boolean;
  action: StepAction;
  durationMs: number;
  attempts: number;
}

export interface ApplyOutcome {
  results: StepResult[];
  /** The failure that stopped the run; the results before it are applied. */
  failure?: Error;
}

const LOCK_NOT_AVAILABLE = "55P03";
const DEADLOCK_DETECTED = "40P01";
/** statement_timeout (or a cancel): the statement ran as long as it was allowed to. */
const QUERY_CANCELED = "57014";

interface PgError extends Error {
  code?: string;
  detail?: string;
  hint?: string;
  where?: string;
  position?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Back to the role the migrator logged in as. A file may `SET ROLE app_owner` so that what it
 * creates belongs to the owner; RESET ALL leaves the role alone, so without this the ledger
 * write would run as that role (which has no rights on the ledger) and the next file would too.
 */
const AS_MIGRATOR = "RESET SESSION AUTHORIZATION; RESET ROLE";

/** The row Prisma would have written for the file, in mirror mode; nothing otherwise. */
function mirror(client: pg.ClientBase, settings: ApplySettings, file: MigrationFile, kind: MirrorKind): string {
  return mirrorRowSql(client, settings.prismaMirror, settings.ledger, file, kind);
}

function timeoutsSql(file: MigrationFile, settings: ApplySettings, durable: boolean): string {
  const lock = file.lockTimeoutMs ?? settings.lockTimeoutMs;
  const statement = file.statementTimeoutMs ?? settings.statementTimeoutMs;
  // Reset first: a SET (or SET ROLE) in an earlier file must not leak into this one on the shared session.
  const deadClientCheck = (settings.serverVersionNum ?? 0) >= 140000 ? `${DEAD_CLIENT_CHECK}; ` : "";
  const searchPath = settings.searchPath ? `SET search_path = ${settings.searchPath}; ` : "";
  return `${AS_MIGRATOR}; RESET ALL; ${searchPath}${deadClientCheck}SET lock_timeout = ${Math.round(lock)}; SET statement_timeout = ${Math.round(statement)}${durable ? "" : `; ${ASYNC_COMMIT}`}`;
}

/**
 * Each file but the run's last commits without waiting for its WAL to reach disk; the last one
 * waits (or, when a file fails, sealRun), and since WAL is flushed in order, that flush makes
 * every earlier file durable too. A file stays atomic with its ledger row either way: a server
 * crash in the middle of a run loses at most the last files together with their rows (as if they
 * had not run yet), never a file without its row or a row without its file, and a run that reports
 * success is on disk (and on a synchronous standby, as the session's own setting asks). On a set
 * of many small files this saves one disk flush per file.
 */
const ASYNC_COMMIT = "SET synchronous_commit = off";

/**
 * After a failure, makes what the run committed before it durable: one ledger write that commits
 * under the session's own synchronous_commit (RESET undoes ASYNC_COMMIT), which flushes the WAL up
 * to and including it. A no-op update of the last recorded row, because only a transaction that
 * writes WAL waits for the flush.
 */
async function sealRun(client: pg.ClientBase, ledger: LedgerLocation, folder: string): Promise<void> {
  await client.query(`${AS_MIGRATOR}; RESET ALL; UPDATE ${qualifiedName(ledger)} SET status = status WHERE folder = ${client.escapeLiteral(folder)}`);
}

/**
 * A migrator killed (or cut off) in the middle of a long statement: by default the server only
 * notices when it next writes to the socket, so the statement runs on, holding its table locks
 * and the migration lock, and the next run waits for it. With this setting (PostgreSQL 14+) the
 * backend checks the socket every second while it works and aborts, rolling the file back and
 * releasing every lock. Guarded by the version, as older servers do not know the setting.
 */
// A SET, not a query: these settings travel in one message with the file's BEGIN, and PostgreSQL
// counts what precedes a BEGIN in one message as part of its transaction, so a SELECT here would
// take the snapshot a file's first `SET TRANSACTION ISOLATION LEVEL` must come before (langfuse's
// 20260821121500_backfill_evaluator_v2). PostgreSQL 13 has no such setting: it is left out there.
const DEAD_CLIENT_CHECK = "SET client_connection_check_interval = '1s'";

/** Maps a server error position (1-based, within the statement) to a line and column in the file. */
function locateInFile(statement: Statement, position: string | undefined): { line: number; column: number | undefined } {
  const pos = Number(position);
  if (!position || !Number.isInteger(pos) || pos < 1) return { line: statement.line, column: undefined };
  // The server counts characters (code points); an emoji is one of them but two UTF-16 units.
  const before = Array.from(statement.sql)
    .slice(0, pos - 1)
    .join("");
  const newlines = before.split("\n");
  return newlines.length === 1
    ? { line: statement.line, column: statement.column + before.length }
    : { line: statement.line + newlines.length - 1, column: newlines.at(-1)!.length + 1 };
}

function retryable(error: PgError, file: MigrationFile): boolean {
  return error.code === LOCK_NOT_AVAILABLE || (file.transactional && error.code === DEADLOCK_DETECTED);
}

function regclassOf(r: RelationName): string {
  return r.schema ? `${quoteIdent(r.schema)}.${quoteIdent(r.name)}` : quoteIdent(r.name);
}

/**
 * Names the sessions holding locks on the tables a statement touches, so a lock-timeout
 * message says what was waited for instead of only that the wait was too long.
 */
export async function describeBlockers(client: pg.ClientBase, relations: RelationName[]): Promise<string | undefined> {
  try {
    const { rows } = await client.query(
      `SELECT DISTINCT ON (a.pid) a.pid, l.relation::regclass::text AS relation, l.mode, a.state, a.application_name,
              extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::int AS seconds, left(a.query, 120) AS query
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.granted AND l.pid <> pg_backend_pid()
          AND (l.relation = ANY (SELECT to_regclass(x) FROM unnest($1::text[]) AS x)
               OR (cardinality($1::text[]) = 0 AND l.locktype = 'virtualxid'))
        ORDER BY a.pid, seconds DESC
        LIMIT 3`,
      [relations.map(regclassOf)],
    );
    if (rows.length === 0) {
      // Nobody locks those tables: a concurrent index build also waits for every transaction
      // holding a snapshot in this database, whatever it reads, so name the oldest of those.
      const snapshots = await client.query(
        `SELECT a.pid, NULL AS relation, 'an old snapshot' AS mode, a.state, a.application_name,
                extract(epoch FROM now() - a.xact_start)::int AS seconds, left(a.query, 120) AS query
           FROM pg_stat_activity a
          WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_xmin IS NOT NULL AND a.xact_start IS NOT NULL
          ORDER BY a.xact_start
          LIMIT 3`,
      );
      rows.push(...snapshots.rows);
    }
    if (rows.length === 0) return undefined;
    return rows
      .map(
        (r) =>
          `pid ${r.pid}${r.application_name ? ` ("${r.application_name}")` : ""} holds ${r.mode}${r.relation ? ` on ${r.relation}` : ""}, ${r.state} for ${r.seconds}s: ${String(r.query).replace(/\s+/g, " ")}`,
      )
      .join("; ");
  } catch {
    return undefined;
  }
}

async function runTransactional(client: pg.ClientBase, file: MigrationFile, settings: ApplySettings, started: number, durable: boolean): Promise<void> {
  await client.query(`${timeoutsSql(file, settings, durable)}; BEGIN`);
  let current: Statement | undefined;
  try {
    for (const statement of file.statements) {
      current = statement;
      await client.query(statement.sql);
    }
    current = undefined;
    // The ledger row commits with the file or not at all.
    await client.query(
      `${AS_MIGRATOR}; ${recordSql(client, settings.ledger, file, "applied", performance.now() - started)}${mirror(client, settings, file, "transaction")}${settings.beforeCommit ? "" : "; COMMIT"}`,
    );
    await commitAfterHook(client, file, settings);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw Object.assign(error as Error, { statement: current });
  }
}

/** With a beforeCommit hook, the COMMIT is left out of the file's last message and sent after the hook. */
async function commitAfterHook(client: pg.ClientBase, file: MigrationFile, settings: ApplySettings): Promise<void> {
  if (!settings.beforeCommit) return;
  await settings.beforeCommit(client, file);
  await client.query("COMMIT");
}

/**
 * The whole file in one round trip: settings, BEGIN, every statement, the ledger row and COMMIT
 * travel as one simple-query message, so a file costs one wait on the server rather than one per
 * statement. The server stops at the first error and leaves the transaction aborted; it is rolled
 * back here, and the caller replays the file statement by statement (runTransactional), which
 * names the failing statement and its line.
 */
async function runPipelined(client: pg.ClientBase, file: MigrationFile, settings: ApplySettings, durable: boolean): Promise<void> {
  // A newline before each ';', so a statement ending in a line comment cannot swallow it.
  const body = file.statements.map((s) => `${s.sql}\n;`).join("\n");
  try {
    await client.query(
      `${timeoutsSql(file, settings, durable)}; BEGIN;\n${body}\n${AS_MIGRATOR};\n${recordSql(client, settings.ledger, file, "applied", SINCE_MESSAGE_ARRIVED)}${mirror(client, settings, file, "transaction")}${settings.beforeCommit ? "" : "; COMMIT"}`,
    );
    await commitAfterHook(client, file, settings);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

interface IndexState {
  valid: boolean;
  name: string;
}

/** The index a concurrent build names, if it exists: valid, or left INVALID by an interrupted build. */
function indexStateSql(client: pg.ClientBase, statement: Statement): string {
  const target = statement.index!;
  const name = regclassOf({ ...(target.schema ? { schema: target.schema } : {}), name: target.name });
  return `SELECT i.indisvalid AS valid, c.oid::regclass::text AS name
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE c.oid = to_regclass(${client.escapeLiteral(name)})`;
}

/**
 * One statement in autocommit. The ledger row is written as `started` first, so an interrupted
 * run leaves a marker: on the rerun, an index that the earlier build left INVALID is dropped
 * concurrently and built again, and one it finished is recorded instead of built twice.
 * Three round trips in the usual case: settings with the `started` row (and the index's state),
 * the statement, then the role reset with the `applied` row.
 */
async function runOutsideTransaction(
  client: pg.ClientBase,
  step: Extract<Step, { action: "apply" }>,
  settings: ApplySettings,
  reporter: Reporter,
  started: number,
  durable: boolean,
): Promise<StepAction> {
  const { file } = step;
  const main = file.statements.find((s) => !s.sessionSetting)!;
  const sessionSettings = file.statements.filter((s) => s.sessionSetting);
  const concurrentIndex = main.index?.concurrent === true;
  // The index's name resolves through search_path, which the file's own SETs may change: only
  // without them can the look-up travel with the first round trip.
  const lookUpFirst = concurrentIndex && sessionSettings.length === 0;
  let current: Statement | undefined;
  try {
    // Recorded before the file's SETs run, while the session is still the migrator's own.
    const first = await client.query(
      `${timeoutsSql(file, settings, durable)}; ${recordSql(client, settings.ledger, file, "started", null)}${lookUpFirst ? `; ${indexStateSql(client, main)}` : ""}`,
    );
    for (const statement of sessionSettings) {
      current = statement;
      await client.query(statement.sql);
    }
    current = main;
    const lookUp = !concurrentIndex ? undefined : lookUpFirst ? (first as unknown as pg.QueryResult[]).at(-1)! : await client.query(indexStateSql(client, main));
    const existing = lookUp?.rows[0] as IndexState | undefined;
    if (existing && !existing.valid) {
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${existing.name}`);
      reporter.event({ type: "invalid-index-dropped", file, index: existing.name });
    } else if (existing?.valid && step.resumed) {
      await client.query(`${AS_MIGRATOR}; ${recordSql(client, settings.ledger, file, "applied", null)}${mirror(client, settings, file, "no-transaction")}`);
      reporter.event({ type: "file-completed-earlier", file, index: existing.name });
      return "completed-earlier";
    }
    await client.query(main.sql);
    current = undefined;
  } catch (error) {
    // A clean failure leaves nothing applied, so nothing stays recorded.
    await client.query(AS_MIGRATOR).catch(() => {});
    await forgetStarted(client, settings.ledger, file.folder).catch(() => {});
    throw Object.assign(error as Error, { statement: current });
  }
  // Outside the try: the statement is done, so a failure here must leave the `started` marker.
  // One simple query, so one implicit transaction: the ledger's `applied` and Prisma's row land together.
  await client.query(
    `${AS_MIGRATOR}; ${markAppliedSql(client, settings.ledger, file.folder, performance.now() - started)}${mirror(client, settings, file, "no-transaction")}`,
  );
  return "applied";
}

/**
 * The session ended under the file: the socket closed (no SQLSTATE), or the server said why on the
 * way out (57P01 shutdown or pg_terminate_backend, 57P02 crash, 57P03 not accepting connections,
 * class 08 connection errors). The file is not at fault, so editing it is the wrong advice.
 */
function connectionLost(error: PgError): boolean {
  return !error.code || /^57P0[123]$/.test(error.code) || error.code.startsWith("08");
}

function failureFor(file: MigrationFile, error: PgError & { statement?: Statement }, attempts: number, blocker: string | undefined): Error {
  // A position belongs to the statement that failed; when that was not one of the file's (the
  // ledger row, COMMIT), it says nothing about where in the file to look.
  const { line, column } = error.statement ? locateInFile(error.statement, error.position) : { line: file.statements[0]?.line ?? 1, column: undefined };
  let advice: string;
  if (error.code === LOCK_NOT_AVAILABLE) {
    advice =
      `could not get its lock within lock_timeout, ${attempts} attempt${attempts === 1 ? "" : "s"}` +
      (blocker ? `; blocked by ${blocker}` : "") +
      `. Run again when that transaction has finished, or raise --lock-timeout / --lock-retries.`;
  } else if (error.code === QUERY_CANCELED && !error.statement) {
    advice =
      `one of its ${file.statements.length} statements ran past statement_timeout and the whole file was rolled back; ` +
      `it was not run again to find which, since that would hold its locks as long again. ` +
      `Raise the limit for this file (-- migrate:statement-timeout), or split the slow statement into a file of its own`;
  } else if (connectionLost(error)) {
    advice = "the connection to the database was lost; run again once it is back: the files before this one stay applied, and this one resumes safely";
  } else {
    advice = "fix the migration (it has not been applied, so editing it is fine) and run again; the files before it stay applied";
  }
  return new MigrationFailedError(
    file.relativePath,
    line,
    column,
    error.message,
    {
      ...(error.code ? { sqlState: error.code } : {}),
      ...(error.detail ? { detail: error.detail } : {}),
      ...(error.hint ? { hint: error.hint } : {}),
      ...(error.where ? { where: error.where } : {}),
    },
    file.transactional,
    advice,
    { cause: error },
  );
}

/**
 * Runs the planned steps in order; stops at the first failure and says what was applied before it.
 * Whatever was recorded is durable before this returns: by the last step's own commit, or after a
 * failure by sealRun.
 */
export async function applySteps(client: pg.ClientBase, steps: readonly Step[], given: ApplySettings, reporter: Reporter, afterRun?: AfterRun): Promise<ApplyOutcome> {
  const settings = given.serverVersionNum === undefined && steps.length > 0 ? { ...given, serverVersionNum: await serverVersionNum(client) } : given;
  const outcome = await runSteps(client, steps, settings, reporter, afterRun !== undefined);
  const last = outcome.results.at(-1);
  // Best effort: the failure is the news, and a lost connection can seal nothing.
  if (outcome.failure && last) await sealRun(client, settings.ledger, last.folder).catch(() => {});
  // The run's durable commit is afterRun's own (the schema snapshot); if it did not commit, seal the run as after a failure.
  else if (afterRun && last && !(await afterRun())) await sealRun(client, settings.ledger, last.folder).catch(() => {});
  return outcome;
}

/**
 * Runs after a successful run that did something, on the same session under the same lock, and
 * commits under the session's own synchronous_commit: the files before it committed without
 * waiting for the disk (ASYNC_COMMIT), so its commit makes them durable. Says whether it committed.
 */
export type AfterRun = () => Promise<boolean>;

async function runSteps(client: pg.ClientBase, steps: readonly Step[], settings: ApplySettings, reporter: Reporter, sealedAfter: boolean): Promise<ApplyOutcome> {
  const results: StepResult[] = [];
  for (const [index, step] of steps.entries()) {
    const { file } = step;
    // The run's last commit waits for the disk, and with it every earlier one (ASYNC_COMMIT); with
    // afterRun, its commit is the last one.
    const durable = index === steps.length - 1 && !sealedAfter;
    const base = { folder: file.folder, version: file.version, name: file.name, file: file.relativePath, transactional: file.transactional };
    if (step.action === "baseline") {
      await client.query(
        `${durable ? "RESET synchronous_commit; " : ""}${recordSql(client, settings.ledger, file, "baselined", null)}${mirror(client, settings, file, "baselined")}`,
      );
      reporter.event({ type: "file-baselined", file });
      results.push({ ...base, action: "baselined", durationMs: 0, attempts: 0 });
      continue;
    }
    // Transactional files go in one round trip, except on the last attempt the retries allow and
    // when replaying a failure statement by statement to locate it.
    let replay = false;
    for (let attempt = 1; ; attempt++) {
      reporter.event({ type: "file-started", file, attempt });
      const started = performance.now();
      const pipelined = file.transactional && !replay && attempt <= settings.lockRetries;
      try {
        let action: StepAction = "applied";
        if (pipelined) {
          await runPipelined(client, file, settings, durable);
        } else if (file.transactional) {
          await runTransactional(client, file, settings, started, durable);
        } else {
          action = await runOutsideTransaction(client, step, settings, reporter, started, durable);
        }
        const durationMs = performance.now() - started;
        if (action === "applied") reporter.event({ type: "file-applied", file, durationMs });
        results.push({ ...base, action, durationMs, attempts: attempt });
        break;
      } catch (error) {
        const pgError = error as PgError & { statement?: Statement };
        // A lost connection is reported as the server said it; a replay on a dead session would only say "not queryable".
        if (pipelined && !retryable(pgError, file) && !connectionLost(pgError)) {
          if (pgError.code !== QUERY_CANCELED) {
            // Rolled back: run the same attempt again statement by statement, to say which one fails.
            replay = true;
            attempt--;
            continue;
          }
          // Never replayed: that would hold the file's locks for a whole statement_timeout again.
          if (file.statements.length === 1) pgError.statement = file.statements[0];
        }
        // A pipelined file does not say which statement waited: any table the file names may be the one.
        const relations = pgError.statement?.relations ?? file.statements.flatMap((s) => s.relations);
        if (retryable(pgError, file) && attempt <= settings.lockRetries) {
          const blocker = await describeBlockers(client, relations);
          // Never sleep holding a lock: the failed attempt was rolled back (or was autocommit) before this.
          const delayMs = Math.round(settings.retryDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
          reporter.event({ type: "lock-timeout-retry", file, attempt, delayMs, blocker });
          await sleep(delayMs);
          continue;
        }
        const blocker = pgError.code === LOCK_NOT_AVAILABLE ? await describeBlockers(client, relations) : undefined;
        return { results, failure: failureFor(file, pgError, attempt, blocker) };
      }
    }
  }
  return { results };
}
