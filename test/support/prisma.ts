/**
 * A database migrated "by Prisma", as `prisma migrate deploy` leaves it (its CLI cannot run here).
 * Pinned from prisma/prisma-engines:
 * - the table: schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs, `create_migrations_table`;
 * - a run: schema-engine/core/src/commands/apply_migrations.rs: `record_migration_started` (a v4 uuid,
 *   the checksum, started_at, the name), the script, `record_successful_step` (applied_steps_count + 1),
 *   `record_migration_finished` (finished_at); sql_migration_persistence.rs for the columns each writes;
 * - the script: the file's text as one simple-protocol query (sql-schema-connector/src/flavour/postgres/connection.rs);
 * - the checksum: sha256 of the text, lowercase hex (schema-connector/src/checksum.rs, `render_checksum`).
 */
import { createHash, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type pg from "pg";
import { withTestClient } from "./database.js";

/** Prisma's DDL as prisma-engines writes it (postgres.rs, create_migrations_table). */
export const PRISMA_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

/** checksum.rs `render_checksum`, written here from its text: sha256, each byte as two lowercase hex digits. */
export const prismaSha = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** checksum.rs `format_checksum_old` (prisma-engines#1887): each byte with `{:x}`, no zero padding. */
export const unpaddedSha = (text: string) => [...createHash("sha256").update(text, "utf8").digest()].map((b) => b.toString(16)).join("");

export interface PrismaRowInput {
  name: string;
  checksum: string;
  startedAt?: string;
  finishedAt?: string | null;
  rolledBackAt?: string | null;
  logs?: string | null;
  appliedStepsCount?: number;
}

/** Writes one row as given (for the states a test needs: failed, rolled back, resolved). */
export async function insertPrismaRow(client: pg.ClientBase, row: PrismaRowInput): Promise<void> {
  await client.query(
    `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
     VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now()), $8)`,
    [randomUUID(), row.checksum, row.finishedAt ?? null, row.name, row.logs ?? null, row.rolledBackAt ?? null, row.startedAt ?? null, row.appliedStepsCount ?? 0],
  );
}

/**
 * `prisma migrate deploy` of `folders` (in the order given) from the set in `dir`: the table if
 * missing, then per file the started row, the script as one simple query, the step, finished_at.
 */
export async function migrateAsPrisma(url: string, dir: string, folders: readonly string[]): Promise<void> {
  await withTestClient(url, async (c) => {
    // Prisma's session: its schema is the URL's, public when none (sql-schema-connector/src/flavour/postgres.rs, schema_name).
    await c.query(`SET search_path TO public`);
    await c.query(PRISMA_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"));
    for (const folder of folders) {
      const text = await readFile(path.join(dir, folder, "migration.sql"), "utf8");
      const id = randomUUID();
      await c.query(`INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ($1, $2, clock_timestamp(), $3)`, [id, prismaSha(text), folder]);
      if (text.trim() !== "") await c.query(text);
      await c.query(`UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = $1`, [id]);
      await c.query(`UPDATE _prisma_migrations SET finished_at = clock_timestamp() WHERE id = $1`, [id]);
    }
  });
}

/**
 * What Prisma itself would say of each folder, written from its rules: `deploy` runs a folder with
 * no row that is not rolled back (apply_migrations.rs, `unapplied_migrations`) and refuses while
 * any row is neither finished nor rolled back (`detect_failed_migrations`); `migrate status`
 * compares the checksum of the first row by name (diagnose_migration_history.rs). Returns, per
 * folder, whether deploy would leave it alone, and the failed rows' names.
 */
export async function prismaView(
  client: pg.ClientBase,
  folders: readonly string[],
): Promise<{ applied: Record<string, boolean>; failed: string[]; checksums: Record<string, string[]> }> {
  const { rows } = await client.query(
    `SELECT f.folder,
            EXISTS (SELECT FROM _prisma_migrations p WHERE p.migration_name = f.folder AND p.rolled_back_at IS NULL AND p.finished_at IS NOT NULL) AS applied,
            ARRAY(SELECT p.checksum FROM _prisma_migrations p WHERE p.migration_name = f.folder ORDER BY p.started_at) AS checksums
       FROM unnest($1::text[]) AS f(folder)`,
    [folders],
  );
  const failed = await client.query(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NULL AND rolled_back_at IS NULL`);
  return {
    applied: Object.fromEntries(rows.map((r) => [r.folder, r.applied])),
    failed: failed.rows.map((r) => r.migration_name),
    checksums: Object.fromEntries(rows.map((r) => [r.folder, r.checksums])),
  };
}
