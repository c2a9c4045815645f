import type pg from "pg";
import { UsageError } from "./errors.js";
import type { MigrationFile } from "./files.js";

/** Where the history table lives. Identifiers come from configuration, so they are checked and quoted. */
export interface LedgerLocation {
  schema: string;
  table: string;
}

export const DEFAULT_LEDGER: LedgerLocation = { schema: "migrator", table: "applied_migrations" };

export type LedgerStatus = "applied" | "baselined" | "started";

/** One row of the ledger: one migration file, applied (or baselined, or interrupted while running). */
export interface LedgerRow {
  version: string;
  name: string;
  checksum: string;
  transactional: boolean;
  status: LedgerStatus;
  appliedAt: Date;
  durationMs: number | null;
  appliedBy: string;
  clientAddr: string | null;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function validateLedgerLocation(location: LedgerLocation): LedgerLocation {
  for (const [what, value] of [
    ["--ledger-schema", location.schema],
    ["--ledger-table", location.table],
  ] as const) {
    if (!IDENTIFIER.test(value)) {
      throw new UsageError(`${what} "${value}" is not a plain identifier; use lower-case letters, digits and _ (at most 63, not starting with a digit)`);
    }
  }
  return location;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(location: LedgerLocation): string {
  return `${quoteIdent(location.schema)}.${quoteIdent(location.table)}`;
}

/**
 * Creates the ledger if it is missing. Runs under the migration lock, so concurrent creators cannot
 * race. An existing ledger is left alone: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the
 * database and COMMENT needs ownership, so another role granted rights on the ledger (an admin,
 * a second deploy role) would otherwise be refused on every run.
 */
export async function ensureLedger(client: pg.ClientBase, location: LedgerLocation): Promise<void> {
  const table = qualifiedName(location);
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [table]);
  if (exists.rows[0]?.found) return;
  try {
    await createLedger(client, location);
  } catch (cause) {
    throw new Error(
      `creating the ledger ${location.schema}.${location.table} failed: ${(cause as Error).message}; ` +
        `the migrating role needs CREATE on the database (or an existing schema ${location.schema} it may create in)`,
      { cause },
    );
  }
}

async function createLedger(client: pg.ClientBase, location: LedgerLocation): Promise<void> {
  const table = qualifiedName(location);
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS ${quoteIdent(location.schema)};
    CREATE TABLE IF NOT EXISTS ${table} (
      version       text        PRIMARY KEY,
      name          text        NOT NULL,
      checksum      text        NOT NULL,
      transactional boolean     NOT NULL,
      status        text        NOT NULL CHECK (status IN ('applied', 'baselined', 'started')),
      applied_at    timestamptz NOT NULL DEFAULT now(),
      duration_ms   integer,
      applied_by    text        NOT NULL DEFAULT current_user,
      client_addr   inet                 DEFAULT inet_client_addr()
    );
    REVOKE ALL ON ${table} FROM PUBLIC;
    COMMENT ON TABLE ${table} IS 'One row per applied migration file; written by the migrator only';
  `);
  // Default privileges of the migrating role apply to the ledger as it is created. Database-wide
  // ones (ALTER DEFAULT PRIVILEGES ... GRANT ... ON TABLES TO app, no IN SCHEMA) were meant for
  // the application's tables and would let the application read or rewrite the history: all of
  // them are revoked. Reading granted for the ledger's own schema (IN SCHEMA migrator, as the
  // stacks do for the auditor) was asked for on purpose and is kept; writing never is.
  const { rows } = await client.query<{ grantee: string; reader: boolean }>(
    `SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee,
            bool_or(a.privilege_type = 'SELECT' AND EXISTS (
              SELECT 1 FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) s
               WHERE d.defaclrole = c.relowner AND d.defaclnamespace = c.relnamespace AND d.defaclobjtype = 'r'
                 AND s.grantee = a.grantee AND s.privilege_type = 'SELECT')) AS reader
       FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
      WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner
      GROUP BY 1`,
    [table],
  );
  for (const { grantee, reader } of rows) {
    await client.query(`REVOKE ALL ON ${table} FROM ${grantee}`);
    if (reader) await client.query(`GRANT SELECT ON ${table} TO ${grantee}`);
  }
}

/** Reads the ledger in version order; a database that has never been migrated has an empty one. */
export async function readLedger(client: pg.ClientBase, location: LedgerLocation): Promise<LedgerRow[]> {
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [qualifiedName(location)]);
  if (!exists.rows[0]?.found) return [];
  const result = await client.query(
    `SELECT version, name, checksum, transactional, status, applied_at, duration_ms, applied_by, host(client_addr) AS client_addr
       FROM ${qualifiedName(location)}`,
  );
  return result.rows
    .map((r) => ({
      version: r.version,
      name: r.name,
      checksum: r.checksum,
      transactional: r.transactional,
      status: r.status,
      appliedAt: r.applied_at,
      durationMs: r.duration_ms,
      appliedBy: r.applied_by,
      clientAddr: r.client_addr,
    }))
    .sort((a, b) => compareVersions(a.version, b.version));
}

export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A duration the server measures itself: from the arrival of the message that carries the whole
 * file (statement_timestamp) to now, for a file sent in a single round trip.
 */
export const SINCE_MESSAGE_ARRIVED = "since-message-arrived";

/**
 * The SQL that records a file as applied, with its values inlined as literals so it
 * can travel in the same round trip as the COMMIT.
 */
export function recordSql(
  client: pg.ClientBase,
  location: LedgerLocation,
  file: MigrationFile,
  status: LedgerStatus,
  durationMs: number | null | typeof SINCE_MESSAGE_ARRIVED,
): string {
  const lit = (v: string) => client.escapeLiteral(v);
  const duration =
    durationMs === null
      ? "NULL"
      : durationMs === SINCE_MESSAGE_ARRIVED
        ? "round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::integer"
        : Math.round(durationMs);
  return `INSERT INTO ${qualifiedName(location)} (version, name, checksum, transactional, status, duration_ms)
    VALUES (${lit(file.version)}, ${lit(file.name)}, ${lit(file.checksum)}, ${file.transactional}, ${lit(status)}, ${duration})
    ON CONFLICT (version) DO UPDATE SET
      name = EXCLUDED.name, checksum = EXCLUDED.checksum, transactional = EXCLUDED.transactional,
      status = EXCLUDED.status, duration_ms = EXCLUDED.duration_ms, applied_at = now(),
      applied_by = current_user, client_addr = inet_client_addr()`;
}

/** Forgets a no-transaction file that failed cleanly: nothing of it is applied. */
export async function forgetStarted(client: pg.ClientBase, location: LedgerLocation, version: string): Promise<void> {
  await client.query(`DELETE FROM ${qualifiedName(location)} WHERE version = $1 AND status = 'started'`, [version]);
}

/** Turns a `started` row into `applied`, with literals inlined so it can share a round trip. */
export function markAppliedSql(client: pg.ClientBase, location: LedgerLocation, version: string, durationMs: number): string {
  return `UPDATE ${qualifiedName(location)} SET status = 'applied', duration_ms = ${Math.round(durationMs)} WHERE version = ${client.escapeLiteral(version)}`;
}
