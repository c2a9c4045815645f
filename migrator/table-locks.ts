import { parseSync } from "libpg-query";
import type { RelationName } from "./statements.js";

/**
 * The table-level locks a statement takes, from PostgreSQL 17's documented lock levels
 * ("Explicit Locking", 13.3.1, and each command's own page: ALTER TABLE's subcommands, CREATE
 * TRIGGER, CREATE INDEX [CONCURRENTLY], VALIDATE CONSTRAINT's ROW SHARE on the referenced table),
 * applied to PostgreSQL's own parse tree (libpg-query). Pure: call `loadParser()` first.
 *
 * Only locks on tables are named (not on the indexes, sequences or catalogs a command also
 * touches): they are what an application's queries queue behind. Where the statement alone cannot
 * say which table a lock falls on (VALIDATE CONSTRAINT of a foreign key added in another file,
 * DROP TABLE of a table whose foreign keys are not in the set), `SetKnowledge` collects what
 * earlier statements of the set said, and what stays unknown is said rather than guessed.
 */

/** PostgreSQL's eight table lock modes, weakest first (their numbers in lockdefs.h). */
export const LOCK_MODES = [
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
  "SHARE",
  "SHARE ROW EXCLUSIVE",
  "EXCLUSIVE",
  "ACCESS EXCLUSIVE",
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** The conflict table of 13.3.1 (Table 13.2): which modes each mode conflicts with. */
export const CONFLICTS: Record<LockMode, readonly LockMode[]> = {
  "ACCESS SHARE": ["ACCESS EXCLUSIVE"],
  "ROW SHARE": ["EXCLUSIVE", "ACCESS EXCLUSIVE"],
  "ROW EXCLUSIVE": ["SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"],
  "SHARE UPDATE EXCLUSIVE": ["SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"],
  SHARE: ["ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"],
  "SHARE ROW EXCLUSIVE": ["ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"],
  EXCLUSIVE: ["ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"],
  "ACCESS EXCLUSIVE": LOCK_MODES,
};

/** Does holding `strong` block at least everything `weak` blocks? */
export function covers(strong: LockMode, weak: LockMode): boolean {
  return CONFLICTS[weak].every((m) => CONFLICTS[strong].includes(m));
}

export interface TableLock {
  /** The table; undefined when the statement does not name it (see `note`). */
  table?: RelationName;
  mode: LockMode;
  /** Which part of the statement takes it, e.g. "ADD COLUMN", "referenced by the foreign key". */
  why: string;
  /** Created by this very statement or earlier in the same transaction: no other session sees it yet. */
  newTable?: boolean;
  note?: string;
}

export interface StatementLocks {
  locks: TableLock[];
  /** Set when the statement touches tables in a way this module does not know the lock of. */
  unknown?: string;
}

/** What the set's earlier statements said, so later ones can be resolved (pure data, updated in order). */
export interface SetKnowledge {
  /** Constraint name → its table and, for a foreign key, the table it references. */
  constraints: Map<string, { table: RelationName; references?: RelationName }>;
  /** Table key → tables its foreign keys reference. */
  foreignKeys: Map<string, RelationName[]>;
  /** Index name → its table. */
  indexes: Map<string, RelationName>;
}

export function emptyKnowledge(): SetKnowledge {
  return { constraints: new Map(), foreignKeys: new Map(), indexes: new Map() };
}

export function tableKey(r: RelationName): string {
  return `${r.schema ?? ""}.${r.name}`;
}

/** `"Member"` or `app."Member"`: as a reviewer would write it in SQL. */
export function displayTable(r: RelationName | undefined): string {
  if (!r) return "(table not named)";
  const q = (s: string) => (/^[a-z_][a-z0-9_]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  return r.schema ? `${q(r.schema)}.${q(r.name)}` : q(r.name);
}

function rangeVar(rv: any): RelationName | undefined {
  if (!rv?.relname) return undefined;
  return rv.schemaname ? { schema: rv.schemaname, name: rv.relname } : { name: rv.relname };
}

function listName(items: any[] | undefined): RelationName | undefined {
  const parts: string[] = (items ?? []).map((i: any) => i?.String?.sval).filter(Boolean);
  const name = parts.at(-1);
  if (!name) return undefined;
  return parts.length > 1 ? { schema: parts.at(-2)!, name } : { name };
}

/** Every RangeVar under `node` (FROM lists, subqueries, USING), minus CTE names, which are not tables. */
function tablesRead(node: unknown, exclude: Set<string>): RelationName[] {
  const found = new Map<string, RelationName>();
  const ctes = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      const v = value as Record<string, any>;
      if (v.CommonTableExpr?.ctename) ctes.add(v.CommonTableExpr.ctename);
      if (v.RangeVar) {
        const r = rangeVar(v.RangeVar);
        if (r) found.set(tableKey(r), r);
      }
      Object.values(v).forEach(walk);
    }
  };
  walk(node);
  return [...found.values()].filter((r) => !exclude.has(tableKey(r)) && !(r.schema === undefined && ctes.has(r.name)));
}

/** Foreign keys declared in a CREATE TABLE (column or table constraints) or an ADD COLUMN. */
function referencesIn(constraints: any[]): { name?: string; references: RelationName }[] {
  const out: { name?: string; references: RelationName }[] = [];
  for (const c of constraints ?? []) {
    const con = c?.Constraint;
    if (con?.contype === "CONSTR_FOREIGN") {
      const references = rangeVar(con.pktable);
      if (references) out.push({ ...(con.conname ? { name: con.conname } : {}), references });
    }
  }
  return out;
}

/** ALTER TABLE subcommands and their levels (AlterTableGetLockLevel); anything else: ACCESS EXCLUSIVE, as documented. */
const SUBCOMMAND_LEVEL: Record<string, { mode: LockMode; what: string }> = {
  AT_SetStatistics: { mode: "SHARE UPDATE EXCLUSIVE", what: "SET STATISTICS" },
  AT_SetOptions: { mode: "SHARE UPDATE EXCLUSIVE", what: "ALTER COLUMN SET (attribute options)" },
  AT_ResetOptions: { mode: "SHARE UPDATE EXCLUSIVE", what: "ALTER COLUMN RESET (attribute options)" },
  AT_ClusterOn: { mode: "SHARE UPDATE EXCLUSIVE", what: "CLUSTER ON" },
  AT_DropCluster: { mode: "SHARE UPDATE EXCLUSIVE", what: "SET WITHOUT CLUSTER" },
  AT_SetRelOptions: { mode: "SHARE UPDATE EXCLUSIVE", what: "SET (storage parameters)" },
  AT_ResetRelOptions: { mode: "SHARE UPDATE EXCLUSIVE", what: "RESET (storage parameters)" },
  AT_ValidateConstraint: { mode: "SHARE UPDATE EXCLUSIVE", what: "VALIDATE CONSTRAINT" },
  AT_AttachPartition: { mode: "SHARE UPDATE EXCLUSIVE", what: "ATTACH PARTITION" },
  AT_EnableTrig: { mode: "SHARE ROW EXCLUSIVE", what: "ENABLE TRIGGER" },
  AT_EnableAlwaysTrig: { mode: "SHARE ROW EXCLUSIVE", what: "ENABLE ALWAYS TRIGGER" },
  AT_EnableReplicaTrig: { mode: "SHARE ROW EXCLUSIVE", what: "ENABLE REPLICA TRIGGER" },
  AT_EnableTrigAll: { mode: "SHARE ROW EXCLUSIVE", what: "ENABLE TRIGGER ALL" },
  AT_EnableTrigUser: { mode: "SHARE ROW EXCLUSIVE", what: "ENABLE TRIGGER USER" },
  AT_DisableTrig: { mode: "SHARE ROW EXCLUSIVE", what: "DISABLE TRIGGER" },
  AT_DisableTrigAll: { mode: "SHARE ROW EXCLUSIVE", what: "DISABLE TRIGGER ALL" },
  AT_DisableTrigUser: { mode: "SHARE ROW EXCLUSIVE", what: "DISABLE TRIGGER USER" },
  AT_AddColumn: { mode: "ACCESS EXCLUSIVE", what: "ADD COLUMN" },
  AT_DropColumn: { mode: "ACCESS EXCLUSIVE", what: "DROP COLUMN" },
  AT_AlterColumnType: { mode: "ACCESS EXCLUSIVE", what: "ALTER COLUMN TYPE (may rewrite the table)" },
  AT_ColumnDefault: { mode: "ACCESS EXCLUSIVE", what: "ALTER COLUMN SET/DROP DEFAULT" },
  AT_SetNotNull: { mode: "ACCESS EXCLUSIVE", what: "SET NOT NULL (scans the table)" },
  AT_DropNotNull: { mode: "ACCESS EXCLUSIVE", what: "DROP NOT NULL" },
  AT_DropConstraint: { mode: "ACCESS EXCLUSIVE", what: "DROP CONSTRAINT" },
};

function maxMode(a: LockMode, b: LockMode): LockMode {
  return LOCK_MODES.indexOf(a) >= LOCK_MODES.indexOf(b) ? a : b;
}

function alterTableLocks(node: any, k: SetKnowledge, newTables: Set<string>): StatementLocks {
  const table = rangeVar(node.relation);
  if (!table) return { locks: [], unknown: "ALTER TABLE without a table name" };
  if (node.objtype && node.objtype !== "OBJECT_TABLE") {
    return { locks: [], unknown: `ALTER ${String(node.objtype).replace("OBJECT_", "")} (not a table lock this review knows)` };
  }
  const extra: TableLock[] = [];
  let mode: LockMode | undefined;
  const whats: string[] = [];
  for (const item of node.cmds ?? []) {
    const cmd = item?.AlterTableCmd;
    if (!cmd) continue;
    let level: { mode: LockMode; what: string } = SUBCOMMAND_LEVEL[cmd.subtype] ?? { mode: "ACCESS EXCLUSIVE", what: String(cmd.subtype).replace(/^AT_/, "") };
    if (cmd.subtype === "AT_AddConstraint") {
      const con = cmd.def?.Constraint;
      if (con?.contype === "CONSTR_FOREIGN") {
        level = { mode: "SHARE ROW EXCLUSIVE", what: `ADD FOREIGN KEY${con.skip_validation ? " NOT VALID" : ""}` };
        const references = rangeVar(con.pktable);
        if (references) {
          extra.push({
            table: references,
            mode: "SHARE ROW EXCLUSIVE",
            why: "referenced by the new foreign key",
            ...(newTables.has(tableKey(references)) ? { newTable: true } : {}),
          });
          if (con.conname) k.constraints.set(con.conname, { table, references });
          k.foreignKeys.set(tableKey(table), [...(k.foreignKeys.get(tableKey(table)) ?? []), references]);
        }
      } else {
        const what = String(con?.contype ?? "CONSTRAINT").replace("CONSTR_", "");
        level = { mode: "ACCESS EXCLUSIVE", what: `ADD ${what === "PRIMARY" ? "PRIMARY KEY" : what}${con?.skip_validation ? " NOT VALID" : ""}` };
        if (con?.conname) k.constraints.set(con.conname, { table });
      }
    } else if (cmd.subtype === "AT_AddColumn") {
      for (const fk of referencesIn(cmd.def?.ColumnDef?.constraints)) {
        extra.push({ table: fk.references, mode: "SHARE ROW EXCLUSIVE", why: "referenced by the new column's foreign key" });
        if (fk.name) k.constraints.set(fk.name, { table, references: fk.references });
      }
    } else if (cmd.subtype === "AT_ValidateConstraint") {
      const known = cmd.name ? k.constraints.get(cmd.name) : undefined;
      if (known?.references) {
        extra.push({ table: known.references, mode: "ROW SHARE", why: "referenced by the foreign key being validated" });
      } else if (!known) {
        extra.push({
          mode: "ROW SHARE",
          why: "the referenced table, if it is a foreign key",
          note: `constraint "${cmd.name}" is not defined in this set, so its referenced table is not known here`,
        });
      }
    }
    mode = mode ? maxMode(mode, level.mode) : level.mode;
    whats.push(level.what);
  }
  if (!mode) return { locks: [] };
  const own: TableLock = { table, mode, why: [...new Set(whats)].join(", "), ...(newTables.has(tableKey(table)) ? { newTable: true } : {}) };
  return { locks: [own, ...extra.filter((e) => e.table === undefined || tableKey(e.table) !== tableKey(table) || !covers(mode!, e.mode))] };
}

function dmlLocks(kind: string, node: any): StatementLocks {
  const target = rangeVar(node.relation);
  const verb = kind.replace("Stmt", "").toUpperCase();
  const locks: TableLock[] = [];
  const exclude = new Set<string>();
  if (target) {
    locks.push({ table: target, mode: "ROW EXCLUSIVE", why: `${verb} target` });
    exclude.add(tableKey(target));
  }
  const { relation: _target, ...rest } = node;
  for (const t of tablesRead(rest, exclude)) locks.push({ table: t, mode: "ACCESS SHARE", why: "read by the statement" });
  return { locks };
}

function selectLocks(node: any): StatementLocks {
  const forUpdate = (node.lockingClause ?? []).length > 0;
  return {
    locks: tablesRead(node, new Set()).map((t) => ({
      table: t,
      mode: forUpdate ? ("ROW SHARE" as const) : ("ACCESS SHARE" as const),
      why: forUpdate ? "SELECT … FOR UPDATE/SHARE" : "read",
    })),
  };
}

const LOCK_STMT_MODES: Record<number, LockMode> = {
  1: "ACCESS SHARE",
  2: "ROW SHARE",
  3: "ROW EXCLUSIVE",
  4: "SHARE UPDATE EXCLUSIVE",
  5: "SHARE",
  6: "SHARE ROW EXCLUSIVE",
  7: "EXCLUSIVE",
  8: "ACCESS EXCLUSIVE",
};

/** Statements that name no table and take no table lock (types, functions, schemas, roles, settings…). */
const NO_TABLE_LOCK = new Set([
  "CreateEnumStmt",
  "AlterEnumStmt",
  "CompositeTypeStmt",
  "CreateDomainStmt",
  "CreateFunctionStmt",
  "CreateSchemaStmt",
  "CreateExtensionStmt",
  "CreateRoleStmt",
  "AlterRoleStmt",
  "GrantRoleStmt",
  "VariableSetStmt",
  "CreateSeqStmt",
  "DoStmt",
  "DefineStmt",
  "CreateRangeStmt",
  "AlterFunctionStmt",
  "AlterDefaultPrivilegesStmt",
]);

/**
 * The locks one statement takes. `k` is updated with what the statement defines (constraints,
 * foreign keys, indexes); `newTables` holds the tables created earlier in the same transaction.
 */
export function statementLocks(sql: string, k: SetKnowledge = emptyKnowledge(), newTables: Set<string> = new Set()): StatementLocks {
  const tree = parseSync(sql) as { stmts?: { stmt: Record<string, any> }[] };
  const out: StatementLocks = { locks: [] };
  for (const raw of tree.stmts ?? []) {
    const r = oneStatement(raw.stmt, k, newTables);
    out.locks.push(...r.locks);
    if (r.unknown) out.unknown = r.unknown;
  }
  return out;
}

function oneStatement(stmt: Record<string, any>, k: SetKnowledge, newTables: Set<string>): StatementLocks {
  const kind = Object.keys(stmt)[0] ?? "Unknown";
  const node = stmt[kind] ?? {};
  if (NO_TABLE_LOCK.has(kind)) return { locks: [] };
  switch (kind) {
    case "CreateStmt": {
      const table = rangeVar(node.relation);
      if (!table) return { locks: [] };
      newTables.add(tableKey(table));
      const locks: TableLock[] = [{ table, mode: "ACCESS EXCLUSIVE", why: "CREATE TABLE", newTable: true }];
      const elements = (node.tableElts ?? []).flatMap((e: any) => (e.ColumnDef ? (e.ColumnDef.constraints ?? []) : e.Constraint ? [e] : []));
      const references: RelationName[] = [];
      for (const fk of referencesIn(elements)) {
        references.push(fk.references);
        if (fk.name) k.constraints.set(fk.name, { table, references: fk.references });
        if (tableKey(fk.references) === tableKey(table)) continue;
        locks.push({
          table: fk.references,
          mode: "SHARE ROW EXCLUSIVE",
          why: "referenced by a foreign key of the new table",
          ...(newTables.has(tableKey(fk.references)) ? { newTable: true } : {}),
        });
      }
      for (const parent of node.inhRelations ?? []) {
        const p = rangeVar(parent?.RangeVar);
        if (p) locks.push({ table: p, mode: node.partbound ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE", why: node.partbound ? "PARTITION OF" : "INHERITS" });
      }
      if (references.length > 0) k.foreignKeys.set(tableKey(table), references);
      return { locks: dedupe(locks) };
    }
    case "IndexStmt": {
      const table = rangeVar(node.relation);
      if (!table) return { locks: [] };
      if (node.idxname) k.indexes.set(node.idxname, table);
      const newTable = newTables.has(tableKey(table)) ? { newTable: true } : {};
      return node.concurrent
        ? { locks: [{ table, mode: "SHARE UPDATE EXCLUSIVE", why: "CREATE INDEX CONCURRENTLY", ...newTable }] }
        : { locks: [{ table, mode: "SHARE", why: "CREATE INDEX", ...newTable }] };
    }
    case "AlterTableStmt":
      return alterTableLocks(node, k, newTables);
    case "CreateTrigStmt": {
      const table = rangeVar(node.relation);
      return { locks: table ? [{ table, mode: "SHARE ROW EXCLUSIVE", why: "CREATE TRIGGER" }] : [] };
    }
    case "InsertStmt":
    case "UpdateStmt":
    case "DeleteStmt":
    case "MergeStmt":
      return dmlLocks(kind, node);
    case "SelectStmt":
      return selectLocks(node);
    case "TruncateStmt":
      return {
        locks: (node.relations ?? [])
          .map((r: any) => rangeVar(r?.RangeVar))
          .filter(Boolean)
          .map((t: RelationName) => ({ table: t, mode: "ACCESS EXCLUSIVE" as const, why: "TRUNCATE" })),
      };
    case "LockStmt": {
      const mode = LOCK_STMT_MODES[node.mode as number] ?? "ACCESS EXCLUSIVE";
      return {
        locks: (node.relations ?? [])
          .map((r: any) => rangeVar(r?.RangeVar))
          .filter(Boolean)
          .map((t: RelationName) => ({ table: t, mode, why: "LOCK TABLE" })),
      };
    }
    case "DropStmt":
      return dropLocks(node, k);
    case "RenameStmt": {
      const table = rangeVar(node.relation);
      if (!table || !["OBJECT_TABLE", "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT"].includes(node.renameType)) {
        return table ? { locks: [], unknown: `RENAME of ${String(node.renameType).replace("OBJECT_", "")}` } : { locks: [] };
      }
      return { locks: [{ table, mode: "ACCESS EXCLUSIVE", why: "RENAME" }] };
    }
    case "VacuumStmt": {
      const full = (node.options ?? []).some((o: any) => o?.DefElem?.defname === "full");
      const tables = (node.rels ?? []).map((r: any) => rangeVar(r?.VacuumRelation?.relation)).filter(Boolean) as RelationName[];
      const mode: LockMode = full ? "ACCESS EXCLUSIVE" : "SHARE UPDATE EXCLUSIVE";
      const what = node.is_vacuumcmd ? (full ? "VACUUM FULL" : "VACUUM") : "ANALYZE";
      return tables.length > 0 ? { locks: tables.map((t) => ({ table: t, mode, why: what })) } : { locks: [], unknown: `${what} of every table` };
    }
    case "CommentStmt": {
      const target = ["OBJECT_TABLE", "OBJECT_COLUMN"].includes(node.objtype)
        ? listName(node.object?.List?.items?.slice(0, node.objtype === "OBJECT_COLUMN" ? -1 : undefined))
        : undefined;
      return { locks: target ? [{ table: target, mode: "SHARE UPDATE EXCLUSIVE", why: "COMMENT ON" }] : [] };
    }
    case "CreateStatsStmt": {
      const table = (node.relations ?? []).map((r: any) => rangeVar(r?.RangeVar)).find(Boolean) as RelationName | undefined;
      return { locks: table ? [{ table, mode: "SHARE UPDATE EXCLUSIVE", why: "CREATE STATISTICS" }] : [] };
    }
    case "ReindexStmt": {
      const concurrently = (node.params ?? []).some((p: any) => p?.DefElem?.defname === "concurrently");
      const table =
        node.kind === "REINDEX_OBJECT_TABLE" ? rangeVar(node.relation) : node.kind === "REINDEX_OBJECT_INDEX" ? k.indexes.get(node.relation?.relname) : undefined;
      if (!table) return { locks: [], unknown: "REINDEX of an index or schema whose table is not named in this set" };
      return {
        locks: [
          { table, mode: concurrently ? "SHARE UPDATE EXCLUSIVE" : "SHARE", why: concurrently ? "REINDEX CONCURRENTLY" : "REINDEX (the indexes: ACCESS EXCLUSIVE)" },
        ],
      };
    }
    case "ClusterStmt": {
      const table = rangeVar(node.relation);
      return table ? { locks: [{ table, mode: "ACCESS EXCLUSIVE", why: "CLUSTER" }] } : { locks: [], unknown: "CLUSTER of every clustered table" };
    }
    case "RefreshMatViewStmt": {
      const view = rangeVar(node.relation);
      return {
        locks: view
          ? [
              {
                table: view,
                mode: node.concurrent ? "EXCLUSIVE" : "ACCESS EXCLUSIVE",
                why: node.concurrent ? "REFRESH MATERIALIZED VIEW CONCURRENTLY" : "REFRESH MATERIALIZED VIEW",
              },
            ]
          : [],
      };
    }
    case "ViewStmt":
      return { locks: tablesRead(node.query, new Set()).map((t) => ({ table: t, mode: "ACCESS SHARE" as const, why: "read by the view's definition" })) };
    case "CreateTableAsStmt": {
      const into = rangeVar(node.into?.rel);
      const read = tablesRead(node.query, new Set()).map((t) => ({ table: t, mode: "ACCESS SHARE" as const, why: "read" }));
      if (into) newTables.add(tableKey(into));
      return { locks: [...(into ? [{ table: into, mode: "ACCESS EXCLUSIVE" as const, why: "CREATE TABLE AS", newTable: true }] : []), ...read] };
    }
    case "GrantStmt":
    case "CreatePolicyStmt":
    case "AlterPolicyStmt":
      // GRANT updates the catalog row of the table without a table lock; a policy takes ACCESS EXCLUSIVE.
      if (kind === "GrantStmt") return { locks: [] };
      return node.table
        ? { locks: [{ table: rangeVar(node.table)!, mode: "ACCESS EXCLUSIVE", why: kind === "CreatePolicyStmt" ? "CREATE POLICY" : "ALTER POLICY" }] }
        : { locks: [] };
    default:
      return { locks: [], unknown: `${kind}: no documented lock level in this review's table; check the command's page` };
  }
}

function dropLocks(node: any, k: SetKnowledge): StatementLocks {
  const locks: TableLock[] = [];
  const names = (node.objects ?? []).map((o: any) => listName(o?.List?.items)).filter(Boolean) as RelationName[];
  switch (node.removeType) {
    case "OBJECT_TABLE":
      for (const t of names) {
        locks.push({ table: t, mode: "ACCESS EXCLUSIVE", why: "DROP TABLE" });
        // Dropping a table drops its foreign keys' triggers on the tables they reference.
        for (const ref of k.foreignKeys.get(tableKey(t)) ?? []) {
          if (tableKey(ref) !== tableKey(t))
            locks.push({ table: ref, mode: "ACCESS EXCLUSIVE", why: `its foreign key's triggers are dropped from the referenced table` });
        }
      }
      return {
        locks: dedupe(locks),
        ...(names.some((t) => !k.foreignKeys.has(tableKey(t)))
          ? { unknown: "DROP TABLE also takes ACCESS EXCLUSIVE on each table its foreign keys reference; those not declared in this set are not listed" }
          : {}),
      };
    case "OBJECT_INDEX":
      for (const i of names) {
        const table = k.indexes.get(i.name);
        locks.push({
          ...(table ? { table } : { note: `the table of index "${i.name}" (not created in this set)` }),
          mode: node.concurrent ? "SHARE UPDATE EXCLUSIVE" : "ACCESS EXCLUSIVE",
          why: node.concurrent ? "DROP INDEX CONCURRENTLY" : "DROP INDEX",
        });
      }
      return { locks };
    case "OBJECT_TRIGGER": {
      // DROP TRIGGER name ON table: the object list is the table's name followed by the trigger's.
      const items = node.objects?.[0]?.List?.items ?? [];
      const table = listName(items.slice(0, -1));
      return { locks: table ? [{ table, mode: "ACCESS EXCLUSIVE", why: "DROP TRIGGER" }] : [] };
    }
    case "OBJECT_VIEW":
    case "OBJECT_MATVIEW":
    case "OBJECT_SEQUENCE":
      return { locks: names.map((t) => ({ table: t, mode: "ACCESS EXCLUSIVE" as const, why: `DROP ${String(node.removeType).replace("OBJECT_", "")}` })) };
    default:
      return { locks: [] };
  }
}

/** One entry per table and mode, with every reason that takes it. */
function dedupe(locks: TableLock[]): TableLock[] {
  const byTable = new Map<string, TableLock>();
  const loose: TableLock[] = [];
  for (const l of locks) {
    if (!l.table) {
      loose.push(l);
      continue;
    }
    const key = `${tableKey(l.table)}|${l.mode}`;
    const seen = byTable.get(key);
    if (seen) seen.why = `${seen.why}; ${l.why}`;
    else byTable.set(key, { ...l });
  }
  return [...byTable.values(), ...loose];
}

/** The set's files in order, each statement with its locks (what the review prints). */
export interface FileLocks {
  folder: string;
  statements: { line: number; kind: string; locks: StatementLocks }[];
}

/**
 * Locks for every statement of the set, in order: earlier files teach later ones (a foreign key
 * added NOT VALID in one file is validated in the next). A table created earlier in the same
 * transaction is marked new; a no-transaction file commits each statement, so nothing is new across them.
 */
export function setLocks(files: readonly { folder: string; transactional: boolean; statements: readonly { sql: string; line: number; kind: string }[] }[]): FileLocks[] {
  const k = emptyKnowledge();
  return files.map((f) => {
    const newTables = new Set<string>();
    return {
      folder: f.folder,
      statements: f.statements.map((s) => ({ line: s.line, kind: s.kind, locks: statementLocks(s.sql, k, f.transactional ? newTables : new Set()) })),
    };
  });
}
