import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_APPLY_SETTINGS } from "./apply.js";
import type { MigratorContext } from "./commands.js";
import { resolveConnection } from "./connection.js";
import { didYouMean } from "./did-you-mean.js";
import { parseDuration } from "./durations.js";
import { APPLY_WOULD_REFUSE, ExitCode, exitCodeOf, LedgerConflictError, MigrationFailedError, MigrationSetError, NOTHING_APPLIED, UsageError } from "./errors.js";
import { formatApply, formatEvent, formatLint, formatPlan, formatStatus, formatVerify } from "./format.js";
import type { LintRequest } from "./lint-command.js";
import type { RehearseOptions } from "./rehearse.js";
import { DEFAULT_LARGE_TABLE_ROWS } from "./rehearse-size.js";
import { ServerTooOldError } from "./server-version.js";
import { DEFAULT_LEDGER, validateLedgerLocation } from "./ledger.js";
import { redact } from "./redact.js";
import { readManifest } from "./manifest.js";
import { readPrivilegeIntent } from "./privileges/intent.js";
import { PROJECT_ROOT } from "./root.js";
import { PRISMA_HISTORY_MODES, type PrismaHistoryMode } from "./prisma-history.js";
import type { Reporter } from "./reporter.js";

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export const HELP = `Usage: npm run migrate -- <command> [options]

Commands:
  plan     show what apply would do: each pending file, its transaction mode and statement count
  apply    apply pending migrations in order, each file in its own transaction (or none)
  status   list applied and pending migrations, and any disagreement with the files
  verify   run the verification queries (sql/verify) and report each check
  lint     lint what a change adds with squawk: against a database, the files its ledger
           lacks (for its server's major); with none, the files after --since FOLDER,
           else all; --all lints every file; exit 1 on error-level findings
  new NAME write the next migration, <dir>/<UTC yyyymmddHHMMSS>_NAME/migration.sql, and print
           its path (--no-transaction: for a statement that cannot run in a transaction,
           such as CREATE INDEX CONCURRENTLY; the file gets the directive and a template)
  drift    compare the database's schema with the snapshot taken at the last applied
           migration (--replay: with what the applied files build on an empty server of
           the same major); exit 1 on any difference, each one line
  rehearse apply the pending files on a throw-away embedded PostgreSQL of the database's
           major, after replaying the applied ones (checked against the database's schema):
           per file applied or its error with file:line, the schema changes it made, the
           table locks it held against the review's prediction, and the size of each table
           it rewrites or scans; the database is only read; exit 1 when a file fails

Where:
  --database-url URL      the database (else DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGPASSWORD/
                          PGDATABASE/PGSSLMODE; with none of them, the embedded PostgreSQL 17)
  --dir DIR               migrations folder, Prisma layout (default sql/migrations)
  --verify-dir DIR        verification queries (default sql/verify)
  --embedded-dir DIR      data of the embedded PostgreSQL (default .data/embedded)
  --ledger-schema NAME    schema of the history table (default ${DEFAULT_LEDGER.schema})
  --ledger-table NAME     name of the history table (default ${DEFAULT_LEDGER.table})
  --allow-insecure-connection  connect to a non-local host without TLS (refused otherwise;
                          sslmode and sslrootcert come from the URL or PGSSLMODE/PGSSLROOTCERT)
  --privileges FILE       the table privileges intended (JSON: owner, schemas, grants; else
                          MIGRATOR_PRIVILEGES): apply makes them so, verify compares

Apply:
  --baseline VERSION      record files up to VERSION (or a folder name) as applied without running them
                          (for a database that already has that schema)
  --only VERSION          apply exactly this file, a version or a folder name (earlier ones must be applied)
  --expect-checksum SHA   with --only: refuse if the file's sha256 differs
  --expect-manifest       refuse unless the set on disk is exactly the one listed in the
                          environment as MIGRATION_<version>="<name> <mode> sha256:<hex>"
                          (what a reviewer saw in pulumi preview)
  --fail-on-drift         before any pending file, compare the schema with the snapshot at
                          the applied head; refuse (exit 1, nothing applied) on any difference
  --prisma-history MODE   ignore (default): Prisma's _prisma_migrations is only read, to adopt
                          the files it finished; mirror: every file recorded also gets the row
                          Prisma would write there, so prisma migrate deploy has nothing to do
  --allow-out-of-order    let a new file that orders before an applied one run
  --ignore-unknown        tolerate applied versions that no file has
  --lock-timeout DUR      lock_timeout for each file (default 5s; a file's
                          "-- migrate:lock-timeout" wins)
  --statement-timeout DUR statement_timeout for each file (default 0 = none)
  --lock-retries N        retries of a file after a lock timeout (default 5)
  --retry-delay DUR       first pause between retries, doubled each time (default 1s)
  --lock-wait DUR         how long to wait for another migrator (default 60s)

Lint:
  --all                   every file of the set, applied or not
  --since FOLDER          the files after FOLDER (a version, or a folder name), no database
  --pg-version MAJOR      the PostgreSQL major to judge for with no database (13 to 17;
                          default 17); against a database, its server's

Drift:
  --replay                compare with the applied files replayed on an embedded PostgreSQL

Rehearse (with no database named, from an empty one):
  --since FOLDER          the files up to FOLDER are the applied part, the rest pending
  --pg-version MAJOR      the major to rehearse on with no database (13 to 17; default 17)
  --large-table-rows N    a table with at least N estimated rows on the database is large:
                          a statement that rewrites or scans it is flagged (default 100000)

Output:
  --json                  one JSON document on stdout; progress goes to stderr
  --quiet                 no progress lines
  --verbose               apply: list every file applied before this run (else one line
                          for all of them, none when nothing is pending)
  -h, --help              this text

Exit codes: 0 done; 1 a migration or check failed, or the database disagrees with the
files; 2 bad usage or a bad migration set (nothing ran).
Per-file directives (leading comment lines): -- migrate:no-transaction,
-- migrate:lock-timeout 10s, -- migrate:statement-timeout 30min.
`;

const VERBS = ["plan", "apply", "status", "verify", "lint", "new", "drift", "rehearse"] as const;
type Verb = (typeof VERBS)[number];

export const OPTIONS = {
  "database-url": { type: "string" },
  dir: { type: "string" },
  "verify-dir": { type: "string" },
  "embedded-dir": { type: "string" },
  "ledger-schema": { type: "string" },
  "ledger-table": { type: "string" },
  baseline: { type: "string" },
  only: { type: "string" },
  "expect-checksum": { type: "string" },
  "expect-manifest": { type: "boolean" },
  "fail-on-drift": { type: "boolean" },
  "allow-out-of-order": { type: "boolean" },
  "prisma-history": { type: "string" },
  "ignore-unknown": { type: "boolean" },
  "lock-timeout": { type: "string" },
  "statement-timeout": { type: "string" },
  "lock-retries": { type: "string" },
  "retry-delay": { type: "string" },
  "lock-wait": { type: "string" },
  "allow-insecure-connection": { type: "boolean" },
  privileges: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  verbose: { type: "boolean" },
  "no-transaction": { type: "boolean" },
  replay: { type: "boolean" },
  all: { type: "boolean" },
  since: { type: "string" },
  "pg-version": { type: "string" },
  "large-table-rows": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** Paths given on the command line resolve against the working directory; the defaults against the project root. */
export { PROJECT_ROOT } from "./root.js";

function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} "${text}" is not a whole number`);
  return Number(text);
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

/** Turns flags and environment into one validated context; every problem is a UsageError before anything runs. */
export function buildContext(values: Values, env: NodeJS.ProcessEnv, reporter: Reporter, needsDatabase = true): MigratorContext {
  const resolvePath = (p: string | undefined, fallback: string) => path.resolve(p ?? path.join(PROJECT_ROOT, fallback));
  if (values["database-url"]?.trim() === "") {
    // An empty URL (an unset secret in a script) must not quietly mean "the embedded server".
    throw new UsageError("--database-url is empty; name the database, or leave the flag out to use DATABASE_URL, PG* or the embedded server");
  }
  if (values["expect-checksum"] !== undefined && values.only === undefined) {
    throw new UsageError("--expect-checksum goes with --only VERSION");
  }
  if (values["expect-checksum"] !== undefined && !/^[0-9a-f]{64}$/.test(values["expect-checksum"])) {
    throw new UsageError("--expect-checksum takes a sha256 in hex (64 characters)");
  }
  if (values.baseline !== undefined && values.only !== undefined) {
    throw new UsageError("--baseline and --only cannot be combined");
  }
  return {
    dir: resolvePath(values.dir, "sql/migrations"),
    verifyDir: resolvePath(values["verify-dir"], "sql/verify"),
    embeddedDir: resolvePath(values["embedded-dir"], ".data/embedded"),
    // lint reads files only: a DATABASE_URL in its environment (say, a remote one without TLS) must not stop it.
    target: needsDatabase ? resolveConnection(values["database-url"], env, values["allow-insecure-connection"] ?? false) : undefined,
    ledger: validateLedgerLocation({ schema: values["ledger-schema"] ?? DEFAULT_LEDGER.schema, table: values["ledger-table"] ?? DEFAULT_LEDGER.table }),
    apply: {
      ledger: validateLedgerLocation({ schema: values["ledger-schema"] ?? DEFAULT_LEDGER.schema, table: values["ledger-table"] ?? DEFAULT_LEDGER.table }),
      lockTimeoutMs: values["lock-timeout"] !== undefined ? parseDuration(values["lock-timeout"], "--lock-timeout") : DEFAULT_APPLY_SETTINGS.lockTimeoutMs,
      statementTimeoutMs:
        values["statement-timeout"] !== undefined ? parseDuration(values["statement-timeout"], "--statement-timeout") : DEFAULT_APPLY_SETTINGS.statementTimeoutMs,
      lockRetries: values["lock-retries"] !== undefined ? parseCount(values["lock-retries"], "--lock-retries") : DEFAULT_APPLY_SETTINGS.lockRetries,
      retryDelayMs: values["retry-delay"] !== undefined ? parseDuration(values["retry-delay"], "--retry-delay") : DEFAULT_APPLY_SETTINGS.retryDelayMs,
    },
    lockWaitMs: values["lock-wait"] !== undefined ? parseDuration(values["lock-wait"], "--lock-wait") : 60_000,
    planOptions: {
      ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
      ...(values.only !== undefined ? { only: values.only } : {}),
      ...(values["expect-checksum"] !== undefined ? { expectChecksum: values["expect-checksum"] } : {}),
      ...(values["expect-manifest"] ? { expectManifest: readManifest(env) } : {}),
      allowOutOfOrder: values["allow-out-of-order"] ?? false,
      ignoreUnknown: values["ignore-unknown"] ?? false,
    },
    ...optional("privileges", readPrivilegeIntent(values.privileges, env)),
    ...(values["fail-on-drift"] ? { failOnDrift: true } : {}),
    ...optional("prismaHistory", prismaHistoryOf(values["prisma-history"])),
    reporter,
  };
}

function prismaHistoryOf(value: string | undefined): PrismaHistoryMode | undefined {
  if (value === undefined) return undefined;
  if (!(PRISMA_HISTORY_MODES as readonly string[]).includes(value)) {
    throw new UsageError(`--prisma-history "${value}" is not one of ${PRISMA_HISTORY_MODES.join(", ")}`);
  }
  return value as PrismaHistoryMode;
}

/** Node's parseArgs messages are long and speak of positionals; say what was wrong in one line. */
function parseCommandLine(argv: string[]): ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>> {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as Error & { code?: string };
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const given = /'([^']+)'/.exec(e.message)?.[1] ?? "";
      const name = given.replace(/^-+/, "").replace(/=.*$/, "");
      // At most 3 edits, and fewer than half the name's length: a short name is no clue.
      const close = didYouMean(name, Object.keys(OPTIONS), Math.min(3, Math.ceil(name.length / 2) - 1));
      throw new UsageError(`unknown option ${given}${close ? `; did you mean --${close}?` : ""} (see --help)`);
    }
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const flag = /'(--[a-z-]+)/.exec(e.message)?.[1];
      throw new UsageError(flag ? `${flag} needs a value, e.g. ${flag}=VALUE for a value starting with "-" (see --help)` : `${e.message.split("\n")[0]} (see --help)`);
    }
    throw new UsageError(`${e.message.split("\n")[0]} (see --help)`);
  }
}

/** The error as data: a failed file keeps its location and the server's fields, for callers that read JSON. */
function errorJson(error: unknown): Record<string, unknown> {
  const e = error as Error & { problems?: unknown; differences?: unknown };
  const located =
    error instanceof MigrationFailedError
      ? { file: error.file, line: error.line, ...(error.column === undefined ? {} : { column: error.column }), ...error.server, rolledBack: error.rolledBack }
      : {};
  return {
    error: {
      kind: e.name ?? "Error",
      message: e.message,
      ...located,
      ...(e.problems ? { problems: e.problems } : {}),
      ...(e.differences ? { differences: e.differences } : {}),
    },
  };
}

/**
 * A path as the user gave it (`--dir /x/y` prints /x/y, wherever the command runs); the default
 * relative to the working directory when it is inside it, else absolute.
 */
export function shownPath(given: string | undefined, resolved: string): string {
  if (given !== undefined) return given;
  const relative = path.relative(process.cwd(), resolved);
  return relative === "" ? "." : relative.startsWith("..") || path.isAbsolute(relative) ? resolved : relative;
}

/** The whole CLI, in process: returns the exit code; prints through `io` only. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let secrets: string[] = [];
  const say = (text: string) => io.stdout(redact(text, secrets) + "\n");
  const complain = (text: string) => io.stderr(redact(text, secrets) + "\n");
  let json = false;
  try {
    // Known before parsing, so that even a usage error comes as JSON to a caller that asked for it.
    json = argv.includes("--json");
    const { values, positionals } = parseCommandLine(argv);
    if (values.help) {
      io.stdout(HELP);
      return ExitCode.ok;
    }
    if (positionals.length === 0) throw new UsageError(`no command given; commands: ${VERBS.join(", ")}; see --help`);
    const [verb, ...extra] = positionals;
    if (!(VERBS as readonly string[]).includes(verb!)) throw new UsageError(`unknown command "${verb}"; commands: ${VERBS.join(", ")}`);
    if (verb === "new") return await runNew(extra, values, say, json);
    if (values["no-transaction"]) throw new UsageError("--no-transaction goes with new NAME; a file's own -- migrate:no-transaction decides how it runs");
    if (values.replay && verb !== "drift") throw new UsageError("--replay goes with drift");
    const lintRequest = verb === "lint" ? readLintRequest(values) : undefined;
    const rehearseRequest = verb === "rehearse" ? readRehearseRequest(values) : undefined;
    for (const flag of ["all", "since", "pg-version"] as const) {
      if (values[flag] !== undefined && verb !== "lint" && !(verb === "rehearse" && flag !== "all")) {
        throw new UsageError(`--${flag} goes with lint${flag === "all" ? "" : " or rehearse"}`);
      }
    }
    if (values["large-table-rows"] !== undefined && verb !== "rehearse") throw new UsageError("--large-table-rows goes with rehearse");
    if (values["fail-on-drift"] && verb !== "apply") throw new UsageError("--fail-on-drift goes with apply");
    if (values["prisma-history"] !== undefined && verb !== "apply") throw new UsageError("--prisma-history goes with apply");
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"; see --help`);
    const progress = (text: string) => {
      if (values.quiet) return;
      if (json) complain(text);
      else say(text);
    };
    // apply's header comes with its first progress line: with nothing pending, the summary alone names the folder.
    let header: string | undefined;
    const reporter: Reporter = {
      event: (e) => {
        const line = formatEvent(e, { verbose: values.verbose ?? false });
        if (!line) return;
        if (header && e.type !== "embedded-started") {
          progress(header);
          header = undefined;
        }
        progress(line);
      },
    };
    // lint with --all or --since reads files only: a DATABASE_URL in its environment must not stop it.
    const filesOnly = (lintRequest && (lintRequest.all || lintRequest.since !== undefined)) || (rehearseRequest && rehearseRequest.filesOnly);
    const ctx = buildContext(values, io.env, reporter, !filesOnly);
    secrets = ctx.target?.secrets ?? [];
    if (lintRequest?.pgMajor !== undefined && ctx.target) {
      throw new UsageError(
        `--pg-version: lint against a database judges for its server's version (${ctx.target.display}); leave the flag out, or lint with no database (--all, --since)`,
      );
    }
    const dir = shownPath(values.dir, ctx.dir);
    if (verb === "apply" && !json) header = `Applying ${dir} to ${ctx.target?.display ?? "the embedded PostgreSQL"}`;
    try {
      return await runVerb(verb as Exclude<Verb, "new">, ctx, { json, say, complain, dir, replay: values.replay ?? false, lint: lintRequest, rehearse: rehearseRequest });
    } catch (error) {
      throw verb === "apply" ? error : asReadOnly(error);
    }
  } catch (error) {
    if (json) say(JSON.stringify(errorJson(error), null, 2));
    complain(`error: ${(error as Error).message ?? String(error)}`);
    return exitCodeOf(error);
  }
}

/** `--pg-version`: a major the migrator runs on. */
function readMajor(text: string): number {
  const major = /^(\d+)(\.\d+)?$/.exec(text)?.[1];
  if (major === undefined || Number(major) < 13 || Number(major) > 17) {
    throw new UsageError(`--pg-version "${text}" is not a PostgreSQL major the migrator runs on (13 to 17, e.g. --pg-version 16)`);
  }
  return Number(major);
}

/**
 * rehearse's own flags. --since and --pg-version say what a database would say (what is applied,
 * which major), so they rehearse with no database: naming one as well is refused, and a
 * DATABASE_URL in the environment is not read.
 */
function readRehearseRequest(values: Values): RehearseOptions & { filesOnly: boolean } {
  if (values.since !== undefined && values.since.trim() === "") throw new UsageError("--since needs a folder, e.g. --since 20260123015816_add_v2_tables");
  const filesOnly = values.since !== undefined || values["pg-version"] !== undefined;
  if (filesOnly && values["database-url"] !== undefined) {
    throw new UsageError(
      "rehearse against a database replays its ledger on its server's major; --since and --pg-version are for a rehearsal with no database: leave out one or the other",
    );
  }
  const largeTableRows = values["large-table-rows"] !== undefined ? parseCount(values["large-table-rows"], "--large-table-rows") : DEFAULT_LARGE_TABLE_ROWS;
  return {
    filesOnly,
    largeTableRows,
    ...(values.since === undefined ? {} : { since: values.since }),
    ...(values["pg-version"] === undefined ? {} : { pgMajor: readMajor(values["pg-version"]) }),
  };
}

/** lint's own flags, validated before anything is read. */
function readLintRequest(values: Values): LintRequest {
  if (values.all && values.since !== undefined) throw new UsageError("--all and --since cannot be combined: --all lints every file");
  if (values.since !== undefined && values.since.trim() === "") throw new UsageError("--since needs a folder, e.g. --since 20260123015816_add_v2_tables");
  const pgMajor = values["pg-version"] !== undefined ? readMajor(values["pg-version"]) : undefined;
  return { all: values.all ?? false, ...(values.since === undefined ? {} : { since: values.since }), ...(pgMajor === undefined ? {} : { pgMajor }) };
}

/**
 * plan, status, verify, drift and lint never apply anything, so their refusals do not say
 * "nothing was applied": they say what apply would do.
 */
function asReadOnly(error: unknown): unknown {
  if (error instanceof MigrationSetError && error.consequence === NOTHING_APPLIED) return new MigrationSetError(error.problems, APPLY_WOULD_REFUSE);
  if (error instanceof LedgerConflictError && error.consequence === NOTHING_APPLIED) return new LedgerConflictError(error.problems, APPLY_WOULD_REFUSE);
  if (error instanceof ServerTooOldError && error.consequence === NOTHING_APPLIED) return new ServerTooOldError(error.serverVersion, error.problems, APPLY_WOULD_REFUSE);
  return error;
}

/** `new NAME`: files only, no database; the path printed is under the folder as the user gave it. */
async function runNew(names: string[], values: Values, say: (t: string) => void, json: boolean): Promise<number> {
  if (names.length !== 1) throw new UsageError(names.length === 0 ? "new needs a NAME, e.g. new add_member_email" : `new takes one NAME; got ${names.length}`);
  const { newMigration } = await import("./new-migration.js");
  const dir = path.resolve(values.dir ?? path.join(PROJECT_ROOT, "sql/migrations"));
  const created = await newMigration(dir, names[0]!, { noTransaction: values["no-transaction"] ?? false, now: new Date() });
  const shown = path.join(shownPath(values.dir, dir), created.folder, "migration.sql");
  say(json ? JSON.stringify({ folder: created.folder, file: shown }, null, 2) : `Created ${shown}\nWrite its SQL, then: npm run migrate -- plan`);
  return ExitCode.ok;
}

async function runVerb(
  verb: Exclude<Verb, "new">,
  ctx: MigratorContext,
  out: {
    json: boolean;
    say: (t: string) => void;
    complain: (t: string) => void;
    dir: string;
    replay: boolean;
    lint: LintRequest | undefined;
    rehearse: RehearseOptions | undefined;
  },
): Promise<number> {
  const { json, say } = out;
  // The verbs load the driver and the parser; imported here so that `--help` and a usage error start fast.
  const { applyCommand, planCommand, statusCommand, verifyCommand } = await import("./commands.js");
  switch (verb) {
    case "lint": {
      const { lintCommand } = await import("./lint-command.js");
      const report = await lintCommand(ctx, out.lint ?? { all: false });
      say(json ? JSON.stringify(report, null, 2) : formatLint(report));
      // A set with problems is refused as every verb refuses it, after the readable files' findings.
      if (report.problems.length > 0) {
        out.complain(`error: ${new MigrationSetError(report.problems, APPLY_WOULD_REFUSE).message}`);
        return ExitCode.usage;
      }
      return report.errors > 0 ? ExitCode.failed : ExitCode.ok;
    }
    case "status": {
      const report = await statusCommand(ctx);
      say(json ? JSON.stringify(report, null, 2) : formatStatus(report));
      return report.problems.length > 0 ? ExitCode.failed : ExitCode.ok;
    }
    case "plan": {
      const report = await planCommand(ctx);
      say(json ? JSON.stringify(report, null, 2) : formatPlan(report));
      return ExitCode.ok;
    }
    case "verify": {
      const report = await verifyCommand(ctx);
      say(json ? JSON.stringify(report, null, 2) : formatVerify(report));
      return report.failed > 0 ? ExitCode.failed : ExitCode.ok;
    }
    case "drift": {
      const { driftCommand, formatDrift } = await import("./drift.js");
      const report = await driftCommand(ctx, { replay: out.replay });
      say(json ? JSON.stringify(report, null, 2) : formatDrift(report));
      return report.differences.length > 0 ? ExitCode.failed : ExitCode.ok;
    }
    case "rehearse": {
      const { rehearseCommand } = await import("./rehearse.js");
      const { formatRehearsal } = await import("./rehearse-format.js");
      const report = await rehearseCommand(ctx, out.rehearse ?? { largeTableRows: DEFAULT_LARGE_TABLE_ROWS });
      say(json ? JSON.stringify(report, null, 2) : formatRehearsal(report));
      // Drift and lock findings are the reviewer's to weigh; a file that does not apply would fail `up`.
      return report.summary.failed > 0 ? ExitCode.failed : ExitCode.ok;
    }
    case "apply": {
      const report = await applyCommand(ctx);
      if (json) {
        say(
          JSON.stringify(
            {
              database: report.database,
              adopted: report.adopted,
              results: report.results,
              alreadyApplied: report.alreadyApplied,
              ...(report.failure ? errorJson(report.failure) : {}),
            },
            null,
            2,
          ),
        );
      } else {
        say(formatApply(report, { dir: out.dir }));
      }
      if (report.failure) {
        out.complain(`error: ${report.failure.message}`);
        return exitCodeOf(report.failure);
      }
      return ExitCode.ok;
    }
  }
}
