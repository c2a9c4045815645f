import { readFile } from "node:fs/promises";
import type pg from "pg";
import type { MigrationFile, MigrationSet } from "./files.js";
import { describeLockHolder } from "./advisory-lock.js";
import { acceptAdopted, qualifiedName, quoteIdent, type LedgerLocation, type LedgerRow } from "./ledger.js";
import { PRISMA_TABLE, prismaChecksum, type Adoption, type PrismaRow } from "./prisma-history.js";

/**
 * Prisma's `_prisma_migrations` in the database: found, read, created and written. Where it is:
 * Prisma sets the session's search_path to the schema its URL names (`?schema=`, `public` when
 * none) and creates the table unqualified there (sql-schema-connector/src/flavour/postgres.rs,
 * `create_migrations_table`). This session's own search_path says nothing of Prisma's (a role
 * named like a schema, such as `migrator`, finds that schema first), so the table is looked for
 * by name: the one in `public`, else the only one in the database.
 */

/** The table, schema-qualified and quoted, if the database has one Prisma would use. */
export async function findPrismaTable(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND c.relkind IN ('r', 'p') ORDER BY n.nspname <> 'public', n.nspname COLLATE "C"`,
    [PRISMA_TABLE],
  );
  if (rows.length > 1 && rows[0]!.schema !== "public") {
    throw new Error(
      `Prisma's history table ${PRISMA_TABLE} is in several schemas (${rows.map((r) => r.schema).join(", ")}) and none is public, so it is not clear which one is this set's; ` +
        `nothing was done. Drop or rename the ones that belong to other applications`,
    );
  }
  return rows[0] ? `${quoteIdent(rows[0].schema)}.${quoteIdent(PRISMA_TABLE)}` : undefined;
}

/** Every row, oldest attempt first (as Prisma's `list_migrations` orders them). */
export async function readPrismaRows(client: pg.ClientBase, table: string): Promise<PrismaRow[]> {
  try {
    const { rows } = await client.query(
      `SELECT id, checksum, migration_name, started_at, finished_at, rolled_back_at, logs FROM ${table} ORDER BY started_at, migration_name COLLATE "C"`,
    );
    return rows.map((r) => ({
      id: r.id,
      checksum: r.checksum,
      migrationName: r.migration_name,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      rolledBackAt: r.rolled_back_at,
      logs: r.logs,
    }));
  } catch (cause) {
    throw new Error(`reading Prisma's history ${table} failed: ${(cause as Error).message}; the migrating role needs SELECT on it`, { cause });
  }
}

/** Each file's text exactly as written, the text Prisma checksums (read only when Prisma's table is there). */
export async function readTexts(files: readonly MigrationFile[]): Promise<Map<string, string>> {
  const texts = await Promise.all(files.map(async (f) => [f.folder, await readFile(f.path, "utf8")] as const));
  return new Map(texts);
}

/**
 * Records the adopted files in the ledger, in one transaction, with Prisma's times read from its
 * own rows (applied_at = finished_at, the duration from started_at), so nothing is rounded on the
 * way. Lets an older ledger hold `adopted` first, in the same transaction.
 */
export async function recordAdoptions(client: pg.ClientBase, ledger: LedgerLocation, table: string, adoptions: readonly Adoption[]): Promise<void> {
  const files = adoptions.map((a) => a.file);
  try {
    await client.query("BEGIN");
    await acceptAdopted(client, ledger);
    await client.query(
      `INSERT INTO ${qualifiedName(ledger)} (folder, version, name, checksum, transactional, status, applied_at, duration_ms)
       SELECT a.folder, a.version, a.name, a.checksum, a.transactional, 'adopted', p.finished_at,
              round(extract(epoch FROM p.finished_at - p.started_at) * 1000)::integer
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[]) AS a(id, folder, version, name, checksum, transactional)
         JOIN ${table} AS p ON p.id = a.id
       ON CONFLICT (folder) DO UPDATE SET
         version = EXCLUDED.version, name = EXCLUDED.name, checksum = EXCLUDED.checksum, transactional = EXCLUDED.transactional,
         status = EXCLUDED.status, applied_at = EXCLUDED.applied_at, duration_ms = EXCLUDED.duration_ms,
         applied_by = current_user, client_addr = inet_client_addr()`,
      [
        adoptions.map((a) => a.prismaId),
        files.map((f) => f.folder),
        files.map((f) => f.version),
        files.map((f) => f.name),
        files.map((f) => f.checksum),
        files.map((f) => f.transactional),
      ],
    );
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw cause instanceof Error && cause.message.startsWith("letting the ledger")
      ? cause
      : new Error(`recording the files adopted from Prisma's history failed, and nothing was recorded: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Prisma's DDL, verbatim (sql-schema-connector/src/flavour/postgres.rs, `create_migrations_table`;
 * also schema-engine/ARCHITECTURE.md) but for IF NOT EXISTS and the schema: `public`, where Prisma
 * creates it when its URL names no other.
 */
export const PRISMA_TABLE_DDL = `CREATE TABLE IF NOT EXISTS public._prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

/** Mirror mode: where Prisma's rows go, and each file's checksum as Prisma computes it. */
export interface PrismaMirror {
  table: string;
  checksums: ReadonlyMap<string, string>;
}

/**
 * Mirror mode's preparation, under the migration lock before any file runs: the table (created
 * with Prisma's DDL when missing), a refusal up front when the role cannot write it (else every
 * file would fail at its COMMIT, looking like the file's fault), and a row for every file the
 * ledger records that Prisma's history lacks, so that `prisma migrate deploy` never runs a file
 * the migrator applied before mirroring was switched on.
 */
export async function prepareMirror(client: pg.ClientBase, set: MigrationSet, ledger: readonly LedgerRow[], texts?: ReadonlyMap<string, string>): Promise<PrismaMirror> {
  let table = await findPrismaTable(client);
  if (!table) {
    try {
      await client.query(PRISMA_TABLE_DDL);
    } catch (cause) {
      throw new Error(
        `creating Prisma's history table public._prisma_migrations (--prisma-history mirror) failed: ${(cause as Error).message}; the migrating role needs CREATE on schema public, or create the table as Prisma does`,
        { cause },
      );
    }
    table = (await findPrismaTable(client))!;
  }
  // Each on its own: with a list, has_table_privilege says whether any one of them is held.
  const { rows } = await client.query<{ ok: boolean }>(`SELECT has_table_privilege($1, 'SELECT') AND has_table_privilege($1, 'INSERT') AS ok`, [table]);
  if (!rows[0]?.ok) {
    throw new Error(
      `--prisma-history mirror: the migrating role may not read and write Prisma's history ${table}; grant it SELECT and INSERT there, or leave mirroring off. Nothing was applied`,
    );
  }
  const unread = await readTexts(set.files.filter((f) => !texts?.has(f.folder)));
  const checksums = new Map(set.files.map((f) => [f.folder, prismaChecksum(texts?.get(f.folder) ?? unread.get(f.folder)!)]));
  const recorded = ledger.filter((r) => r.status !== "started" && checksums.has(r.folder));
  if (recorded.length > 0) {
    // Like `prisma migrate resolve --applied` (sql_migration_persistence.rs, mark_migration_applied_impl) for a
    // file the migrator baselined; like `deploy` (one step, no logs) for one it applied; the ledger's own times.
    await client.query(
      `INSERT INTO ${table} (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count)
       SELECT gen_random_uuid()::text, r.checksum, r.applied_at + make_interval(secs => coalesce(r.duration_ms, 0) / 1000.0), r.folder,
              CASE r.status WHEN 'baselined' THEN '' END, r.applied_at, CASE r.status WHEN 'applied' THEN 1 ELSE 0 END
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::integer[]) AS r(folder, checksum, status, applied_at, duration_ms)
        WHERE NOT EXISTS (SELECT FROM ${table} p WHERE p.migration_name = r.folder AND p.finished_at IS NOT NULL AND p.rolled_back_at IS NULL)`,
      [
        recorded.map((r) => r.folder),
        recorded.map((r) => checksums.get(r.folder)!),
        recorded.map((r) => r.status),
        recorded.map((r) => r.appliedAt),
        recorded.map((r) => r.durationMs),
      ],
    );
  }
  return { table, checksums };
}

/** How a file was recorded, for the row Prisma would have written. */
export type MirrorKind = "transaction" | "no-transaction" | "baselined";

/**
 * The row Prisma writes for a file, as SQL with its values inlined (so it shares the round trip of
 * the ledger row, and for a transactional file its transaction). What `deploy` leaves
 * (apply_migrations.rs: record_migration_started, one record_successful_step, record_migration_finished):
 * a uuid, the checksum, started_at, finished_at, logs NULL, applied_steps_count 1; for a baselined
 * file what `resolve --applied` leaves: started_at = finished_at, logs '', applied_steps_count 0.
 * A no-transaction file started when its `started` ledger row was written.
 */
export function mirrorRowSql(client: pg.ClientBase, mirror: PrismaMirror | undefined, ledger: LedgerLocation, file: MigrationFile, kind: MirrorKind): string {
  if (!mirror) return "";
  const lit = (v: string) => client.escapeLiteral(v);
  const checksum = lit(mirror.checksums.get(file.folder)!);
  const started = kind === "no-transaction" ? `coalesce((SELECT applied_at FROM ${qualifiedName(ledger)} WHERE folder = ${lit(file.folder)}), now())` : "now()";
  const values =
    kind === "baselined"
      ? `gen_random_uuid()::text, ${checksum}, now(), ${lit(file.folder)}, '', now(), 0`
      : `gen_random_uuid()::text, ${checksum}, clock_timestamp(), ${lit(file.folder)}, NULL, ${started}, 1`;
  return `; INSERT INTO ${mirror.table} (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count) VALUES (${values})`;
}

/**
 * Prisma's own migration lock: `SELECT pg_advisory_lock(72707369)`, a key "chosen to identify
 * Migrate" (sql-schema-connector/src/flavour/postgres.rs, `acquire_lock`), held while it reads and
 * writes its history and runs files.
 */
export const PRISMA_LOCK_KEY = 72707369n;

/** `prisma migrate` holds its lock on this database: adopting or mirroring now could race it. */
export class PrismaRunningError extends Error {
  readonly exitCode = 1;
  constructor(readonly holder: string | undefined) {
    super(
      `Prisma's schema engine holds its migration lock on this database (advisory lock ${PRISMA_LOCK_KEY}${holder ? `: ${holder}` : ""}), so \`prisma migrate\` is running; ` +
        `nothing was done. Wait for it to finish and run again`,
    );
    this.name = "PrismaRunningError";
  }
}

/**
 * Holds Prisma's lock around `fn`, so that a `prisma migrate deploy` started meanwhile waits (and,
 * after its 10 seconds, gives up) instead of running a file the migrator is adopting or applying.
 * Never waits itself: a Prisma run already going is refused. Released at the end; it dies with
 * the session in any case.
 */
export async function withPrismaLock<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock($1::bigint) AS locked`, [PRISMA_LOCK_KEY.toString()]);
  if (!rows[0]?.locked) throw new PrismaRunningError(await describeLockHolder(client, PRISMA_LOCK_KEY).catch(() => undefined));
  try {
    return await fn();
  } finally {
    await client.query(`SELECT pg_advisory_unlock($1::bigint)`, [PRISMA_LOCK_KEY.toString()]).catch(() => undefined);
  }
}
