import { withTestClient } from "./database.js";

/** A ledger row as the database holds it (the default ledger, migrator.applied_migrations). */
export interface LedgerRecord {
  version: string;
  name: string;
  checksum: string;
  transactional: boolean;
  status: string;
  applied_at: Date;
  duration_ms: number | null;
  applied_by: string;
}

/** The ledger's rows in version order; none when the ledger table does not exist yet. */
export async function ledgerRows(url: string, table = "migrator.applied_migrations"): Promise<LedgerRecord[]> {
  return withTestClient(url, async (c) => {
    const exists = await c.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [table]);
    if (!exists.rows[0].found) return [];
    const { rows } = await c.query(`SELECT version, name, checksum, transactional, status, applied_at, duration_ms, applied_by FROM ${table} ORDER BY version::numeric`);
    return rows as LedgerRecord[];
  });
}

/** Whether a table (or any relation) of that name exists. */
export async function relationExists(url: string, name: string): Promise<boolean> {
  return withTestClient(url, async (c) => (await c.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [name])).rows[0].found);
}

/** The rows a query returns, on a connection of its own. */
export async function query<T = any>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withTestClient(url, async (c) => (await c.query(sql, params)).rows as T[]);
}
