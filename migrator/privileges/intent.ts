import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";

/**
 * The table privileges a caller (the Pulumi stacks) intends, as data the migrator enforces after
 * `apply` and `sql/verify/15_table_privileges.sql` compares with the database. It crosses a
 * process as JSON in the environment, so it is parsed here from an untrusted shape.
 *
 * Meaning, for every table (and view) in `schemas`:
 * - `owner` owns it (the owner holds every privilege implicitly);
 * - each role named in `grants` holds exactly the privileges of its rule for that table, else of
 *   its rule for the whole schema, else none;
 * - PUBLIC and every other role hold nothing.
 */
export interface PrivilegeIntent {
  owner: string;
  schemas: string[];
  grants: PrivilegeRule[];
}

export interface PrivilegeRule {
  role: string;
  schema: string;
  /** One table; absent means every table of the schema that no rule of this role names. */
  table?: string;
  privileges: TablePrivilege[];
}

/** The table privileges PostgreSQL 13 to 16 know; 17 adds MAINTAIN, which the intent never grants. */
export const TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"] as const;
export type TablePrivilege = (typeof TABLE_PRIVILEGES)[number];

/** The environment variable the stacks pass the intent in (JSON), to `apply` and to the verification report. */
export const PRIVILEGES_ENV = "MIGRATOR_PRIVILEGES";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 63;
const isPrivilege = (v: unknown): v is TablePrivilege => typeof v === "string" && (TABLE_PRIVILEGES as readonly string[]).includes(v);

/** Reads the intent from JSON text; every problem is reported at once, as bad usage (nothing has run yet). */
export function parsePrivilegeIntent(text: string, source: string): PrivilegeIntent {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  if (!isRecord(doc)) throw new UsageError(`${source} must be an object with owner, schemas and grants`);
  if (!isName(doc.owner)) problems.push("owner must be a role name");
  const schemas = Array.isArray(doc.schemas) ? doc.schemas : [];
  if (!Array.isArray(doc.schemas) || schemas.length === 0 || !schemas.every(isName)) problems.push("schemas must be a non-empty list of schema names");
  const grants = Array.isArray(doc.grants) ? doc.grants : [];
  if (!Array.isArray(doc.grants)) problems.push("grants must be a list");
  const seen = new Set<string>();
  grants.forEach((g: unknown, i) => {
    if (!isRecord(g) || !isName(g.role) || !isName(g.schema) || (g.table !== undefined && !isName(g.table))) {
      problems.push(`grants[${i}] needs role and schema (names) and may name a table`);
      return;
    }
    if (!schemas.includes(g.schema)) problems.push(`grants[${i}]: schema ${g.schema} is not in schemas`);
    if (!Array.isArray(g.privileges) || !g.privileges.every(isPrivilege)) {
      problems.push(`grants[${i}].privileges must list only ${TABLE_PRIVILEGES.join(", ")}`);
    }
    const key = JSON.stringify([g.role, g.schema, g.table ?? null]);
    if (seen.has(key)) problems.push(`grants[${i}] repeats the rule for ${g.role} on ${g.schema}${g.table ? `.${g.table}` : ""}`);
    seen.add(key);
    if (g.role === doc.owner) problems.push(`grants[${i}] names the owner ${g.role}, who holds every privilege already`);
  });
  if (problems.length > 0) throw new UsageError(`${source}: ${problems.join("; ")}`);
  return doc as unknown as PrivilegeIntent;
}

/** The privileges `role` should hold on `schema.table` under the intent. */
export function intendedPrivileges(intent: PrivilegeIntent, role: string, schema: string, table: string): TablePrivilege[] {
  const mine = intent.grants.filter((g) => g.role === role && g.schema === schema);
  return (mine.find((g) => g.table === table) ?? mine.find((g) => g.table === undefined))?.privileges ?? [];
}

/** The roles the intent speaks of (besides the owner), in a stable order. */
export function intendedRoles(intent: PrivilegeIntent): string[] {
  return [...new Set(intent.grants.map((g) => g.role))].sort();
}

/** The intent from `--privileges FILE`, else from MIGRATOR_PRIVILEGES, else none. */
export function readPrivilegeIntent(file: string | undefined, env: NodeJS.ProcessEnv): PrivilegeIntent | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new UsageError(`--privileges ${file} cannot be read: ${(error as Error).message}`);
    }
    return parsePrivilegeIntent(text, `--privileges ${file}`);
  }
  const text = env[PRIVILEGES_ENV];
  return text === undefined || text === "" ? undefined : parsePrivilegeIntent(text, PRIVILEGES_ENV);
}
