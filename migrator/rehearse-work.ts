import { parseSync } from "libpg-query";
import type { RelationName } from "./statements.js";

/**
 * Which statements read or rewrite a whole table (pure, from PostgreSQL's parse tree): what costs
 * time in proportion to the table's size, under the statement's lock. A small documented rule set;
 * a rewrite the rules cannot foresee (ADD COLUMN with a volatile DEFAULT, an ALTER COLUMN TYPE that
 * is not binary-compatible) is observed by the rehearsal instead, as a new relfilenode.
 *
 * - rewrites: ALTER COLUMN TYPE (unless binary-compatible), CLUSTER, VACUUM FULL, REFRESH
 *   MATERIALIZED VIEW;
 * - scans: CREATE INDEX (SHARE: writes wait) and CREATE INDEX CONCURRENTLY (two scans, writes go on),
 *   ADD PRIMARY KEY / UNIQUE (an index build), ADD CHECK or FOREIGN KEY without NOT VALID, VALIDATE
 *   CONSTRAINT, SET NOT NULL (unless a valid CHECK proves it), UPDATE or DELETE without WHERE.
 */

export interface TableWork {
  table: RelationName;
  work: "rewrites" | "scans";
  why: string;
}

function rangeVar(rv: any): RelationName | undefined {
  if (!rv?.relname) return undefined;
  return rv.schemaname ? { schema: rv.schemaname, name: rv.relname } : { name: rv.relname };
}

function alterTableWork(node: any): TableWork[] {
  const table = rangeVar(node.relation);
  if (!table || (node.objtype && node.objtype !== "OBJECT_TABLE")) return [];
  const out: TableWork[] = [];
  for (const item of node.cmds ?? []) {
    const cmd = item?.AlterTableCmd;
    if (!cmd) continue;
    switch (cmd.subtype) {
      case "AT_AlterColumnType":
        out.push({ table, work: "rewrites", why: `ALTER COLUMN${cmd.name ? ` ${cmd.name}` : ""} TYPE rewrites the table unless the new type is binary-compatible` });
        break;
      case "AT_SetNotNull":
        out.push({ table, work: "scans", why: `SET NOT NULL reads every row (unless a valid CHECK proves it)` });
        break;
      case "AT_ValidateConstraint":
        out.push({ table, work: "scans", why: `VALIDATE CONSTRAINT${cmd.name ? ` ${cmd.name}` : ""} reads every row` });
        break;
      case "AT_AddConstraint": {
        const con = cmd.def?.Constraint;
        const type = String(con?.contype ?? "");
        if ((type === "CONSTR_PRIMARY" || type === "CONSTR_UNIQUE") && !con?.indexname) {
          out.push({ table, work: "scans", why: `ADD ${type === "CONSTR_PRIMARY" ? "PRIMARY KEY" : "UNIQUE"} builds an index` });
        } else if ((type === "CONSTR_CHECK" || type === "CONSTR_FOREIGN") && !con?.skip_validation) {
          out.push({ table, work: "scans", why: `ADD ${type === "CONSTR_CHECK" ? "CHECK" : "FOREIGN KEY"} without NOT VALID reads every row` });
        }
        break;
      }
    }
  }
  return out;
}

function oneStatement(stmt: Record<string, any>): TableWork[] {
  const kind = Object.keys(stmt)[0] ?? "";
  const node = stmt[kind] ?? {};
  switch (kind) {
    case "AlterTableStmt":
      return alterTableWork(node);
    case "IndexStmt": {
      const table = rangeVar(node.relation);
      if (!table) return [];
      return [
        { table, work: "scans", why: node.concurrent ? "CREATE INDEX CONCURRENTLY reads the table twice (writes go on)" : "CREATE INDEX reads the table (writes wait)" },
      ];
    }
    case "ClusterStmt": {
      const table = rangeVar(node.relation);
      return table ? [{ table, work: "rewrites", why: "CLUSTER rewrites the table" }] : [];
    }
    case "VacuumStmt": {
      const full = (node.options ?? []).some((o: any) => o?.DefElem?.defname === "full");
      if (!full) return [];
      return (node.rels ?? [])
        .map((r: any) => rangeVar(r?.VacuumRelation?.relation))
        .filter(Boolean)
        .map((table: RelationName) => ({ table, work: "rewrites" as const, why: "VACUUM FULL rewrites the table" }));
    }
    case "RefreshMatViewStmt": {
      const table = rangeVar(node.relation);
      return table ? [{ table, work: "rewrites", why: "REFRESH MATERIALIZED VIEW rebuilds it" }] : [];
    }
    case "UpdateStmt":
    case "DeleteStmt": {
      const table = rangeVar(node.relation);
      if (!table || node.whereClause) return [];
      return [{ table, work: "scans", why: `${kind === "UpdateStmt" ? "UPDATE" : "DELETE"} without WHERE writes every row` }];
    }
    default:
      return [];
  }
}

/** The whole-table work one statement does (call loadParser() first). */
export function tableWork(sql: string): TableWork[] {
  const tree = parseSync(sql) as { stmts?: { stmt: Record<string, any> }[] };
  return (tree.stmts ?? []).flatMap((s) => oneStatement(s.stmt));
}
