import type pg from "pg";
import type { MigrationSet } from "./files.js";
import type { LedgerRow } from "./ledger.js";
import type { PlanOptions } from "./plan.js";
import { adoptedRows, planAdoption, type Adoption, type AdoptionPlan } from "./prisma-history.js";
import { findPrismaTable, readPrismaRows, readTexts } from "./prisma-table.js";

/** What adoption would do on this database now: read-only, so plan and status can say it too. */
export interface AdoptionView extends AdoptionPlan {
  /** Prisma's table, qualified, when this database has one. */
  table: string | undefined;
  /** The ledger as the planner should see it: its own rows and the files adoption records. */
  ledger: LedgerRow[];
  /** The texts read for the checksums, by folder (mirror mode reuses them). */
  texts: ReadonlyMap<string, string>;
}

/**
 * Reads Prisma's history, if any, and plans its adoption against the set and the ledger. Only the
 * files Prisma has rows for are read again (their text as written, which Prisma checksums), so a
 * database without `_prisma_migrations` costs one catalog look-up.
 */
export async function viewAdoption(client: pg.ClientBase, set: MigrationSet, ledger: readonly LedgerRow[], options: PlanOptions): Promise<AdoptionView> {
  const table = await findPrismaTable(client);
  if (!table) return { table, adoptions: [], problems: [], ledger: [...ledger], texts: new Map() };
  const rows = await readPrismaRows(client, table);
  const named = new Set(rows.map((r) => r.migrationName));
  const texts = await readTexts(set.files.filter((f) => named.has(f.folder)));
  const planned = planAdoption(set, ledger, rows, (file) => texts.get(file.folder)!, {
    ...(options.ignoreUnknown ? { ignoreUnknown: true } : {}),
    ...(options.allowOutOfOrder ? { allowOutOfOrder: true } : {}),
  });
  return { table, ...planned, ledger: withAdopted(ledger, planned.adoptions), texts };
}

function withAdopted(ledger: readonly LedgerRow[], adoptions: readonly Adoption[]): LedgerRow[] {
  if (adoptions.length === 0) return [...ledger];
  const adopted = new Set(adoptions.map((a) => a.file.folder));
  // An interrupted no-transaction row of ours for a file Prisma finished is superseded by the adoption.
  return [...ledger.filter((r) => !adopted.has(r.folder)), ...adoptedRows(adoptions)].sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
}

/** The adoption as reports show it (plan, status, apply --json). */
export interface AdoptedFile {
  folder: string;
  version: string;
  name: string;
  transactional: boolean;
  startedAt: string;
  finishedAt: string;
}

export function adoptedFiles(adoptions: readonly Adoption[]): AdoptedFile[] {
  return adoptions.map(({ file, startedAt, finishedAt }) => ({
    folder: file.folder,
    version: file.version,
    name: file.name,
    transactional: file.transactional,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  }));
}
