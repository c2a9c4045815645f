import type pg from "pg";
import type { LedgerLocation } from "../ledger.js";
import { PRISMA_TABLE } from "../prisma-history.js";
import { normaliseCatalog, type NormalisedCatalog, type NormaliseOptions } from "./normalise.js";
import { readCatalog, type CatalogScope } from "./read.js";

export { diffCatalogs, driftLine, changeLine, summariseChanges, type CatalogDifference } from "./diff.js";
export { fingerprintOf, privilegesFingerprintOf, NORMALISER_VERSION, type NormalisedCatalog } from "./normalise.js";

/** The snapshot table's name beside a ledger table. */
export function snapshotTableOf(ledger: LedgerLocation): string {
  return `${ledger.table}_snapshots`;
}

/**
 * The migrator's own tables are not part of the schema it manages, nor is the schema it created
 * for them; nor is Prisma's history table in its default schema, which a database Prisma migrated
 * holds (and mirror mode writes) while the files never create it: it is bookkeeping, as the ledger
 * is, and a replay of the files cannot have it.
 */
export function scopeOf(ledger: LedgerLocation): CatalogScope {
  return {
    excludeRelations: [
      { schema: ledger.schema, name: ledger.table },
      { schema: ledger.schema, name: snapshotTableOf(ledger) },
      { schema: "public", name: PRISMA_TABLE },
    ],
    // The public schema is the database's own, even when the ledger lives there.
    excludeSchemas: ledger.schema === "public" ? [] : [ledger.schema],
  };
}

/** Reads and normalises the managed schemas' catalog of the connected database. */
export async function takeCatalog(client: pg.ClientBase, ledger: LedgerLocation, options: NormaliseOptions = {}): Promise<NormalisedCatalog> {
  return normaliseCatalog(await readCatalog(client, scopeOf(ledger)), options);
}
