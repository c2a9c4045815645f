import type pg from "pg";
import type { LedgerLocation } from "./ledger.js";

/**
 * PostgreSQL's default search_path is `"$user", public`. With a login role named like the
 * ledger's schema (the README's `migrator@…` beside the default ledger schema `migrator`),
 * `"$user"` resolves to the ledger's schema as soon as it exists, and every unqualified CREATE of
 * a migration lands there instead of in `public`. Prisma sets its session's search_path to its
 * schema for the same reason. When that is about to happen, the files run with `"$user"` taken
 * out of the path; any other path, and a file's own `SET search_path`, are left as they are.
 */

/** The path a session had and the one its files run with instead. */
export interface SearchPathChange {
  was: string;
  now: string;
  schema: string;
}

/** Splits a search_path setting into its entries, keeping each as written (quoted or not). */
export function pathEntries(setting: string): string[] {
  const entries: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of setting) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      entries.push(current.trim());
      current = "";
    } else {
      current += ch;
    }
  }
  if (current.trim() !== "") entries.push(current.trim());
  return entries;
}

const isUserEntry = (entry: string) => entry === "$user" || entry === '"$user"';

/** Pure: the path the files should run with, or undefined when `"$user"` does not lead them into the ledger's schema. */
export function pathWithoutLedger(setting: string, firstSchema: string | null, user: string, ledger: LedgerLocation): SearchPathChange | undefined {
  if (ledger.schema === "public" || firstSchema !== ledger.schema || user !== ledger.schema) return undefined;
  const entries = pathEntries(setting);
  if (!entries.some(isUserEntry)) return undefined;
  const kept = entries.filter((e) => !isUserEntry(e));
  return { was: setting, now: kept.length > 0 ? kept.join(", ") : "public", schema: ledger.schema };
}

/** Asks the session (after the ledger's schema exists) whether its path would lead the files into it. */
export async function searchPathForFiles(client: pg.ClientBase, ledger: LedgerLocation): Promise<SearchPathChange | undefined> {
  const { rows } = await client.query<{ setting: string; first: string | null; me: string }>(
    "SELECT current_setting('search_path') AS setting, (current_schemas(false))[1] AS first, current_user AS me",
  );
  const r = rows[0]!;
  return pathWithoutLedger(r.setting, r.first, r.me, ledger);
}
