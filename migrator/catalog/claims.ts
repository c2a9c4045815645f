import { parseSync } from "libpg-query";
import type { CatalogObject } from "./normalise.js";
import { qualified } from "./normalise.js";

/**
 * What a migration names as its own without necessarily changing the catalog: the idempotent
 * forms (`ADD COLUMN IF NOT EXISTS`, `CREATE INDEX IF NOT EXISTS`, `CREATE OR REPLACE`, `DROP …
 * IF EXISTS`, `ALTER COLUMN …`) that a file written to "make a hand-made change the files' own"
 * uses. Run on a database that already holds the change, such a file leaves the catalog as it
 * was, so comparing the catalog before and after it cannot tell that it settled the drift; the
 * statement itself says so. Only these forms are read: any other statement that settles a drift
 * changes the catalog, which the comparison sees (carry.ts).
 *
 * An unqualified name is taken to be in `public` (the schema the migrations write unqualified
 * names into); a file that sets another search_path names objects elsewhere, which is only ever
 * reported as drift still carried, never silently taken in.
 */
export type Claim =
  /** One object, by its catalog key (`column "T"."c"`, `index "i"`, `enum "Color"`). */
  | { key: string }
  /** A table or view and everything on it (its columns, constraints, indexes, triggers, policies). */
  | { relation: string }
  /** Every overload of a function or procedure: `function "f"(`. */
  | { prefix: string };

interface RangeVar {
  schemaname?: string;
  relname: string;
}

type Node = Record<string, unknown>;

const rel = (r: RangeVar) => qualified(r.schemaname ?? "public", r.relname);
const strings = (items: unknown): string[] => ((items as Node[] | undefined) ?? []).map((i) => (i.String as { sval: string }).sval);
const nameOf = (parts: string[]) => (parts.length > 1 ? qualified(parts.at(-2)!, parts.at(-1)!) : qualified("public", parts[0]!));

const COLUMN_COMMANDS = new Set([
  "AT_AddColumn",
  "AT_DropColumn",
  "AT_AlterColumnType",
  "AT_ColumnDefault",
  "AT_SetNotNull",
  "AT_DropNotNull",
  "AT_AddIdentity",
  "AT_DropIdentity",
  "AT_SetIdentity",
]);

function claimsOfNode(stmt: Node): Claim[] {
  const [kind, body] = Object.entries(stmt)[0] as [string, Node];
  switch (kind) {
    case "AlterTableStmt": {
      const table = rel(body.relation as RangeVar);
      return ((body.cmds as Node[] | undefined) ?? []).flatMap((c) => {
        const cmd = c.AlterTableCmd as Node;
        if (!COLUMN_COMMANDS.has(cmd.subtype as string)) return [];
        const column = (cmd.name as string | undefined) ?? ((cmd.def as Node | undefined)?.ColumnDef as Node | undefined)?.colname;
        return typeof column === "string" ? [{ key: `column ${table}.${qualified("public", column)}` }] : [];
      });
    }
    case "IndexStmt": {
      const table = body.relation as RangeVar;
      return body.if_not_exists && typeof body.idxname === "string" ? [{ key: `index ${qualified(table.schemaname ?? "public", body.idxname)}` }] : [];
    }
    case "CreateStmt":
      return body.if_not_exists ? [{ relation: rel(body.relation as RangeVar) }] : [];
    case "ViewStmt":
      return body.replace ? [{ relation: rel(body.view as RangeVar) }] : [];
    case "CreateSeqStmt":
      return body.if_not_exists ? [{ key: `sequence ${rel(body.sequence as RangeVar)}` }] : [];
    case "CreateFunctionStmt":
      return body.replace ? [{ prefix: `function ${nameOf(strings(body.funcname))}(` }] : [];
    case "AlterEnumStmt":
      return [{ key: `enum ${nameOf(strings(body.typeName))}` }];
    case "CreateSchemaStmt":
      return body.if_not_exists ? [{ key: `schema ${qualified("public", body.schemaname as string)}` }] : [];
    case "CreateExtensionStmt":
      return body.if_not_exists ? [{ key: `extension ${qualified("public", body.extname as string)}` }] : [];
    case "DropStmt":
      return body.missing_ok ? dropClaims(body) : [];
    default:
      return [];
  }
}

function dropClaims(body: Node): Claim[] {
  const objects = (body.objects as Node[] | undefined) ?? [];
  const names = (o: Node) => strings((o.List as Node | undefined)?.items);
  switch (body.removeType) {
    case "OBJECT_TABLE":
    case "OBJECT_VIEW":
    case "OBJECT_MATVIEW":
      return objects.map((o) => ({ relation: nameOf(names(o)) }));
    case "OBJECT_INDEX":
      return objects.map((o) => ({ key: `index ${nameOf(names(o))}` }));
    case "OBJECT_SEQUENCE":
      return objects.map((o) => ({ key: `sequence ${nameOf(names(o))}` }));
    case "OBJECT_FUNCTION":
    case "OBJECT_PROCEDURE":
      return objects.map((o) => ({ prefix: `function ${nameOf(strings((o.ObjectWithArgs as Node).objname))}(` }));
    default:
      return [];
  }
}

/** The claims of the pending files' statements (the parser is loaded: the files were read with it). */
export function claimsOf(statements: readonly { sql: string }[]): Claim[] {
  return statements.flatMap((s) => {
    const tree = parseSync(s.sql) as { stmts?: { stmt: Node }[] };
    return (tree.stmts ?? []).flatMap((r) => claimsOfNode(r.stmt));
  });
}

/** Pure: whether a claim covers the object at `key`. */
export function claimed(claims: readonly Claim[], key: string, object: CatalogObject): boolean {
  return claims.some((c) =>
    "key" in c ? c.key === key : "prefix" in c ? key.startsWith(c.prefix) : object.parent === c.relation || key === `table ${c.relation}` || key === `view ${c.relation}`,
  );
}
