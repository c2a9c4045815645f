import type pg from "pg";
import { UsageError } from "./errors.js";
import type { MigrationFile, MigrationSet } from "./files.js";

/** Where the history table lives. Identifiers come from configuration, so they are checked and quoted. */
export interface LedgerLocation {
  schema: string;
  table: string;
}

export const DEFAULT_LEDGER: LedgerLocation = { schema: "migrator", table: "applied_migrations" };

/**
 * `applied`: run by the migrator; `baselined`: recorded, not run (`--baseline`); `adopted`: run by
 * Prisma, found finished in its `_prisma_migrations` and recorded, not run; `started`: a
 * no-transaction file interrupted while running.
 */
export type LedgerStatus = "applied" | "baselined" | "adopted" | "started";

/** The statuses a ledger accepts, in its CHECK constraint. */
const STATUSES: readonly LedgerStatus[] = ["applied", "baselined", "adopted", "started"];
const STATUS_CHECK = `CHECK (status IN (${STATUSES.map((s) => `'${s}'`).join(", ")}))`;

/** One row of the ledger: one migration file, applied (or baselined, adopted, or interrupted while running). */
export interface LedgerRow {
  /** What identifies the file, as Prisma does: its folder name, e.g. "20260123015816_add_v2_tables". */
  folder: string;
  /** The folder's leading digits, kept for people and --baseline; two folders may share one. */
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
export async function ensureLedger(client: pg.ClientBase, location: LedgerLocation, set?: MigrationSet): Promise<void> {
  const format = await ledgerFormat(client, location);
  if (format === 2) return;
  if (format === 1) return upgradeLedger(client, location, set);
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
      folder        text        PRIMARY KEY,
      version       text        NOT NULL,
      name          text        NOT NULL,
      checksum      text        NOT NULL,
      transactional boolean     NOT NULL,
      status        text        NOT NULL ${STATUS_CHECK},
      applied_at    timestamptz NOT NULL DEFAULT now(),
      duration_ms   integer,
      applied_by    text        NOT NULL DEFAULT current_user,
      client_addr   inet                 DEFAULT inet_client_addr()
    );
    REVOKE ALL ON ${table} FROM PUBLIC;
    COMMENT ON TABLE ${table} IS ${LEDGER_COMMENT};
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

const LEDGER_COMMENT = "'One row per applied migration file, keyed by its folder name (ledger format 2); written by the migrator only'";

/**
 * 1: keyed by version (migrators before folder identity); 2: keyed by folder; undefined: no ledger.
 * A format-1 ledger is read as it is and upgraded by the first `apply` (upgradeLedger).
 */
export type LedgerFormat = 1 | 2;

export async function ledgerFormat(client: pg.ClientBase, location: LedgerLocation): Promise<LedgerFormat | undefined> {
  const { rows } = await client.query<{ found: boolean; by_folder: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS found,
            EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'folder' AND NOT attisdropped) AS by_folder`,
    [qualifiedName(location)],
  );
  if (!rows[0]?.found) return undefined;
  return rows[0].by_folder ? 2 : 1;
}

/**
 * Reads the ledger in folder-name order (the order files apply in); a database that has never
 * been migrated has an empty one. A format-1 ledger's rows are named by the folders that ledger
 * meant (identifyByFolder), so reading it before its upgrade sees what the upgrade will write.
 */
export async function readLedger(client: pg.ClientBase, location: LedgerLocation, set?: MigrationSet): Promise<LedgerRow[]> {
  const format = await ledgerFormat(client, location);
  if (format === undefined) return [];
  const result = await client.query(
    `SELECT ${format === 2 ? "folder" : "NULL::text AS folder"}, version, name, checksum, transactional, status, applied_at, duration_ms, applied_by, host(client_addr) AS client_addr
       FROM ${qualifiedName(location)}`,
  );
  const rows: LedgerRow[] = result.rows.map((r) => ({
    folder: r.folder ?? `${r.version}_${r.name}`,
    version: r.version,
    name: r.name,
    checksum: r.checksum,
    transactional: r.transactional,
    status: r.status,
    appliedAt: r.applied_at,
    durationMs: r.duration_ms,
    appliedBy: r.applied_by,
    clientAddr: r.client_addr,
  }));
  return (format === 1 && set ? identifyByFolder(rows, set) : rows).sort((a, b) => compareFolders(a.folder, b.folder));
}

/** Prisma's order: folder names compared bytewise (they are ASCII, so code units are bytes). */
export function compareFolders(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Which folder each row of a version-keyed ledger meant. That ledger matched a file by its version
 * alone, so a row belongs to the one folder on disk with its version even when the folder was
 * renamed since; with no such folder (or, impossible then, several) it keeps `<version>_<name>`.
 * Pure, and the one rule both the reading and the upgrade follow, so nothing re-runs.
 */
export function identifyByFolder(rows: readonly LedgerRow[], set: MigrationSet): LedgerRow[] {
  const byVersion = new Map<string, string[]>();
  for (const f of set.files) byVersion.set(f.version, [...(byVersion.get(f.version) ?? []), f.folder]);
  return rows.map((row) => {
    const folders = byVersion.get(row.version);
    if (folders?.length !== 1 || folders[0] === row.folder) return row;
    const folder = folders[0]!;
    return { ...row, folder, name: folder.slice(row.version.length + 1) };
  });
}

/**
 * Turns a version-keyed ledger into a folder-keyed one, in one transaction under the migration
 * lock the caller holds: a `folder` column filled by identifyByFolder, the primary key moved to it.
 * Every row stays (applied, baselined, started), so nothing runs again. The `version` column stays
 * for people and older readers. An older migrator can still read the upgraded table, but cannot
 * write it: its `ON CONFLICT (version)` no longer matches a unique key, so PostgreSQL refuses its
 * first ledger write, in the transaction of the file it ran or before a no-transaction one runs.
 */
async function upgradeLedger(client: pg.ClientBase, location: LedgerLocation, set: MigrationSet | undefined): Promise<void> {
  const table = qualifiedName(location);
  const rows = await readLedger(client, location, set);
  try {
    await client.query("BEGIN");
    const { rows: pk } = await client.query<{ conname: string }>(`SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`, [table]);
    await client.query(`ALTER TABLE ${table} ADD COLUMN folder text`);
    await client.query(
      `UPDATE ${table} AS l SET folder = r.folder, name = r.name
         FROM unnest($1::text[], $2::text[], $3::text[]) AS r(version, folder, name) WHERE l.version = r.version`,
      [rows.map((r) => r.version), rows.map((r) => r.folder), rows.map((r) => r.name)],
    );
    for (const { conname } of pk) await client.query(`ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(conname)}`);
    await client.query(`ALTER TABLE ${table} ALTER COLUMN folder SET NOT NULL, ALTER COLUMN version SET NOT NULL, ADD PRIMARY KEY (folder)`);
    await client.query(`COMMENT ON TABLE ${table} IS ${LEDGER_COMMENT}`);
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw new Error(
      `upgrading the ledger ${location.schema}.${location.table} to be keyed by folder name failed, and it is unchanged: ${(cause as Error).message}; ` +
        `the upgrade alters the table, so run apply once as the ledger's owner`,
      { cause },
    );
  }
}

/**
 * Lets a ledger made before `adopted` existed hold it: its CHECK constraint listed the other three
 * statuses, so it is replaced in place (one ALTER TABLE, in the caller's transaction). Only called
 * when an adoption is about to be written: altering needs the table's owner, and a ledger that
 * never adopts must keep working for a role that only has rights on its rows. A migrator from
 * before adoption reads an `adopted` row as done (it runs only files with no row, and resumes only
 * `started` ones), so nothing it meets re-runs.
 */
export async function acceptAdopted(client: pg.ClientBase, location: LedgerLocation): Promise<void> {
  const table = qualifiedName(location);
  const { rows } = await client.query<{ conname: string; def: string }>(
    `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'`,
    [table],
  );
  const status = rows.filter((r) => /\bstatus\b/.test(r.def));
  if (status.length > 0 && status.every((r) => r.def.includes("'adopted'"))) return;
  const drops = status.map((r) => `DROP CONSTRAINT ${quoteIdent(r.conname)}, `).join("");
  try {
    await client.query(`ALTER TABLE ${table} ${drops}ADD CONSTRAINT ${quoteIdent(`${location.table}_status_check`)} ${STATUS_CHECK}`);
  } catch (cause) {
    throw new Error(
      `letting the ledger ${location.schema}.${location.table} record adopted files failed: ${(cause as Error).message}; ` +
        `adoption alters its status check once, so run apply once as the ledger's owner`,
      { cause },
    );
  }
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
  return `INSERT INTO ${qualifiedName(location)} (folder, version, name, checksum, transactional, status, duration_ms)
    VALUES (${lit(file.folder)}, ${lit(file.version)}, ${lit(file.name)}, ${lit(file.checksum)}, ${file.transactional}, ${lit(status)}, ${duration})
    ON CONFLICT (folder) DO UPDATE SET
      version = EXCLUDED.version, name = EXCLUDED.name, checksum = EXCLUDED.checksum, transactional = EXCLUDED.transactional,
      status = EXCLUDED.status, duration_ms = EXCLUDED.duration_ms, applied_at = now(),
      applied_by = current_user, client_addr = inet_client_addr()`;
}

/** Forgets a no-transaction file that failed cleanly: nothing of it is applied. */
export async function forgetStarted(client: pg.ClientBase, location: LedgerLocation, folder: string): Promise<void> {
  await client.query(`DELETE FROM ${qualifiedName(location)} WHERE folder = $1 AND status = 'started'`, [folder]);
}

/** Turns a `started` row into `applied`, with literals inlined so it can share a round trip. */
export function markAppliedSql(client: pg.ClientBase, location: LedgerLocation, folder: string, durationMs: number): string {
  return `UPDATE ${qualifiedName(location)} SET status = 'applied', duration_ms = ${Math.round(durationMs)} WHERE folder = ${client.escapeLiteral(folder)}`;
}
