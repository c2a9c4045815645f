/**
 * The stacks' verification command (run by a command.local.Command after the migrations, from the
 * project root): on one session to DATABASE_URL, the ledger's status, every verification check,
 * the server's own facts (version, TLS of this very connection) and the schema's drift, printed as
 * one JSON document that the Pulumi program (infra/verification.ts) turns into the `migrations`,
 * `verification` and `drift` outputs.
 *
 * The process exits 0 when the report was produced, even if checks failed: the outputs must show
 * a failed check, and the program decides what a failure does to `pulumi up`. It exits 1 when no
 * report could be produced (no connection, a bad set): the command then fails and is retried on
 * the next `up` instead of leaving a broken report in the state.
 *
 * Nothing secret is printed: the connection's secrets are redacted from everything written.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import type pg from "pg";
import { statusOf, type StatusReport } from "../migrator/commands.js";
import { resolveConnection, withClientWhile } from "../migrator/connection.js";
import { readMigrationSet } from "../migrator/files.js";
import { withAdvisoryLock } from "../migrator/advisory-lock.js";
import { compareWithSnapshot, isLockTimeout, withLockTimeout } from "../migrator/catalog/snapshot.js";

/** How long the report's catalog read waits for a table lock before saying drift was not checked. */
const DRIFT_LOCK_TIMEOUT_MS = 30_000;
import { DEFAULT_LEDGER, readLedger, validateLedgerLocation, type LedgerLocation } from "../migrator/ledger.js";
import { redact } from "../migrator/redact.js";
import { readVerifyFiles, verify, type VerifyReport } from "../migrator/verify.js";
import { readPrivilegeIntent } from "../migrator/privileges/intent.js";
import { exitWith } from "./exit.js";
import { warnIfStale } from "./stale-bundle.js";

export interface ServerFacts {
  version: string;
  /** Whether the connection the report used is encrypted (pg_stat_ssl). */
  connectionEncrypted: boolean;
  tlsVersion: string | null;
  /** RDS's rds.force_ssl, or null on a server that has no such setting. */
  forceSsl: string | null;
}

/**
 * The schema against the snapshot recorded at the applied head (migrator/catalog/snapshot.ts):
 * `none`, `drifted` with each difference, or `unchecked` with the reason (nothing applied, a
 * database applied before snapshots existed).
 */
export interface DriftFacts {
  status: "none" | "drifted" | "unchecked";
  /** The applied head's folder, or null when nothing is applied. */
  head: string | null;
  snapshot: { head: string; takenAt: string; sha256: string } | null;
  liveSha256: string | null;
  differences: { kind: string; name: string; change: string; field?: string; line: string }[];
  reason?: string;
}

/** What this command prints: infra/verification.ts reads it as this type. */
export interface StackReport {
  status: StatusReport;
  verify: VerifyReport;
  server: ServerFacts;
  drift: DriftFacts;
}

const USAGE = "usage: stack-report.js --dir DIR --verify-dir DIR [--ledger-schema NAME] [--ignore-unknown]";

async function serverFacts(client: pg.ClientBase): Promise<ServerFacts> {
  const { rows } = await client.query<{ version: string; ssl: boolean; tls_version: string | null; force_ssl: string | null }>(
    `SELECT current_setting('server_version') AS version,
            coalesce(s.ssl, false) AS ssl, s.version AS tls_version,
            current_setting('rds.force_ssl', true) AS force_ssl
       FROM (SELECT 1) AS one LEFT JOIN pg_stat_ssl AS s ON s.pid = pg_backend_pid()`,
  );
  const row = rows[0]!;
  return { version: row.version, connectionEncrypted: row.ssl, tlsVersion: row.tls_version, forceSsl: row.force_ssl || null };
}

/**
 * Under the migration lock, like `migrate drift`: an apply running elsewhere is waited for, not
 * reported as drift. Only the snapshot is compared (a replay would start a server on every up).
 */
async function driftFacts(client: pg.ClientBase, ledger: LedgerLocation): Promise<DriftFacts> {
  const silent = { event: () => {} };
  let c;
  try {
    // A session holding a table locked must not hold the report (and the migration lock) for long.
    c = await withAdvisoryLock(client, ledger, 60_000, silent, () => withLockTimeout(client, DRIFT_LOCK_TIMEOUT_MS, () => compareWithSnapshot(client, ledger)));
  } catch (error) {
    if (!isLockTimeout(error)) throw error;
    const reason = `reading the schema waited more than ${DRIFT_LOCK_TIMEOUT_MS / 1000}s for a table another session holds locked; drift was not checked this run`;
    return { status: "unchecked", head: null, snapshot: null, liveSha256: null, differences: [], reason };
  }
  if (!c.checked) return { status: "unchecked", head: c.head, snapshot: null, liveSha256: null, differences: [], reason: c.reason };
  return {
    status: c.differences.length === 0 ? "none" : "drifted",
    head: c.head,
    snapshot: { head: c.snapshot.head, takenAt: c.snapshot.takenAt.toISOString(), sha256: c.snapshot.sha256 },
    liveSha256: c.liveSha256,
    differences: c.differences.map((d) => ({ kind: d.kind, name: d.name, change: d.change, ...(d.field === undefined ? {} : { field: d.field }), line: d.line })),
  };
}

/** The report, on one connection; `secrets` receives what must be redacted from anything printed. */
export async function produceReport(argv: string[], env: NodeJS.ProcessEnv, secrets: string[] = []): Promise<StackReport> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: "string" },
      "verify-dir": { type: "string" },
      "ledger-schema": { type: "string" },
      "ignore-unknown": { type: "boolean" },
    },
    strict: true,
  });
  if (!values.dir || !values["verify-dir"]) throw new Error(USAGE);
  const target = env.DATABASE_URL ? resolveConnection(undefined, env) : undefined;
  if (!target) throw new Error("DATABASE_URL is not set; the report never falls back to the embedded PostgreSQL");
  secrets.push(...target.secrets);
  const ledger = validateLedgerLocation({ schema: values["ledger-schema"] ?? DEFAULT_LEDGER.schema, table: DEFAULT_LEDGER.table });
  // The stack's privilege intent (MIGRATOR_PRIVILEGES), which 15_table_privileges.sql compares with the database.
  const privileges = readPrivilegeIntent(undefined, env);
  const read = async () => ({ set: await readMigrationSet(path.resolve(values.dir!)), checks: await readVerifyFiles(path.resolve(values["verify-dir"]!)) });
  return withClientWhile(target, read, async (client, { set, checks }) => ({
    status: statusOf(set, await readLedger(client, ledger, set), { ignoreUnknown: values["ignore-unknown"] ?? false }, target.display),
    verify: await verify(client, set, checks, ledger, privileges),
    server: await serverFacts(client),
    drift: await driftFacts(client, ledger),
  }));
}

// The command itself. infra/verification.ts imports this module's types only (`import type`, erased), so this runs only as the process.
warnIfStale(import.meta.url);
const secrets: string[] = [];
let code = 0;
try {
  const report = await produceReport(process.argv.slice(2), process.env, secrets);
  process.stdout.write(redact(JSON.stringify(report), secrets) + "\n");
} catch (error) {
  process.stderr.write(redact(`error: ${(error as Error).message}\n`, secrets));
  code = 1;
}
await exitWith(code);
