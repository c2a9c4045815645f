/**
 * Which PostgreSQL a statement needs. The parser (libpg-query) is PostgreSQL 17's, so it accepts
 * syntax that an older server refuses, and RDS and Aurora still offer 13 to 16. These rules let
 * `plan` and `apply` say so before anything runs, naming the file and line, instead of a syntax
 * error halfway through a set. Pure: a parse tree in, the newest requirement out.
 *
 * Only what the supported servers (13 and later) differ on is listed, and REINDEX CONCURRENTLY
 * (12, so every supported server has it); a rule names the feature as a user wrote it. Functions
 * and settings that are new in a version (e.g. multiranges) are not syntax, and stay the
 * server's to refuse.
 */

export interface VersionRequirement {
  /** The major version that introduced the feature, e.g. 15. */
  major: number;
  /** The feature as written, e.g. "MERGE". */
  feature: string;
}

type Node = Record<string, any>;

interface Rule {
  major: number;
  feature: string;
  /** Called for every node of the tree with its type name, e.g. ("MergeStmt", {...}). */
  matches(kind: string, node: Node): boolean;
}

const subtype = (kind: string, node: Node, name: string) => kind === "AlterTableCmd" && node.subtype === name;

/** Predefined roles newer than 13: granting one (or to one) on an older server fails "role does not exist". */
const PREDEFINED_ROLES: Record<string, number> = {
  pg_database_owner: 14,
  pg_read_all_data: 14,
  pg_write_all_data: 14,
  pg_checkpoint: 15,
  pg_create_subscription: 16,
  pg_use_reserved_connections: 16,
  pg_maintain: 17,
};

const RULES: Rule[] = [
  { major: 12, feature: "REINDEX CONCURRENTLY", matches: (k, n) => k === "ReindexStmt" && (n.params ?? []).some((p: any) => p?.DefElem?.defname === "concurrently") },
  { major: 14, feature: "DETACH PARTITION CONCURRENTLY", matches: (k, n) => subtype(k, n, "AT_DetachPartition") && Boolean(n.def?.PartitionCmd?.concurrent) },
  { major: 14, feature: "DETACH PARTITION ... FINALIZE", matches: (k, n) => subtype(k, n, "AT_DetachPartitionFinalize") },
  { major: 14, feature: "CREATE OR REPLACE TRIGGER", matches: (k, n) => k === "CreateTrigStmt" && Boolean(n.replace) },
  { major: 14, feature: "column COMPRESSION", matches: (k, n) => (k === "ColumnDef" && Boolean(n.compression)) || subtype(k, n, "AT_SetCompression") },
  { major: 15, feature: "MERGE", matches: (k) => k === "MergeStmt" },
  { major: 15, feature: "NULLS NOT DISTINCT", matches: (k, n) => (k === "IndexStmt" || k === "Constraint") && Boolean(n.nulls_not_distinct) },
  { major: 15, feature: "ON DELETE SET NULL/SET DEFAULT with a column list", matches: (k, n) => k === "Constraint" && (n.fk_del_set_cols ?? []).length > 0 },
  { major: 15, feature: "security_invoker views", matches: (k, n) => k === "DefElem" && n.defname === "security_invoker" },
  { major: 15, feature: "GRANT ... ON PARAMETER", matches: (k, n) => k === "GrantStmt" && n.objtype === "OBJECT_PARAMETER_ACL" },
  { major: 15, feature: "ALTER TABLE ... SET ACCESS METHOD", matches: (k, n) => subtype(k, n, "AT_SetAccessMethod") },
  {
    major: 16,
    feature: "GRANT role WITH INHERIT/SET",
    matches: (k, n) => k === "GrantRoleStmt" && (n.opt ?? []).some((o: any) => ["inherit", "set"].includes(o?.DefElem?.defname)),
  },
  {
    major: 16,
    feature: "SQL/JSON constructors and IS JSON (JSON_OBJECT, JSON_ARRAY, JSON_OBJECTAGG, JSON_ARRAYAGG)",
    matches: (k) => ["JsonObjectConstructor", "JsonArrayConstructor", "JsonArrayQueryConstructor", "JsonObjectAgg", "JsonArrayAgg", "JsonIsPredicate"].includes(k),
  },
  { major: 17, feature: "MERGE ... RETURNING", matches: (k, n) => k === "MergeStmt" && (n.returningList ?? []).length > 0 },
  { major: 17, feature: "MERGE ... WHEN NOT MATCHED BY SOURCE", matches: (k, n) => k === "MergeWhenClause" && n.matchKind === "MERGE_WHEN_NOT_MATCHED_BY_SOURCE" },
  { major: 17, feature: "SQL/JSON query functions (JSON_QUERY, JSON_VALUE, JSON_EXISTS)", matches: (k) => k === "JsonFuncExpr" },
  { major: 17, feature: "JSON_TABLE", matches: (k) => k === "JsonTable" },
  { major: 17, feature: "JSON(), JSON_SCALAR(), JSON_SERIALIZE()", matches: (k) => ["JsonParseExpr", "JsonScalarExpr", "JsonSerializeExpr"].includes(k) },
  { major: 17, feature: "the MAINTAIN privilege", matches: (k, n) => k === "AccessPriv" && n.priv_name === "maintain" },
  { major: 17, feature: "ALTER COLUMN ... SET EXPRESSION", matches: (k, n) => subtype(k, n, "AT_SetExpression") },
];

/** The predefined role a node names, as granted (AccessPriv) or as grantee/owner (RoleSpec). */
function roleRequirement(kind: string, node: Node): VersionRequirement | undefined {
  const name = kind === "AccessPriv" ? node.priv_name : kind === "RoleSpec" ? node.rolename : undefined;
  const major = typeof name === "string" ? PREDEFINED_ROLES[name] : undefined;
  return major === undefined ? undefined : { major, feature: `the ${name} role` };
}

/**
 * The newest PostgreSQL major any part of the statement needs, or undefined when every server
 * this project supports runs it. `stmt` is one parse node as libpg-query gives it ({ Kind: {...} }).
 */
export function versionRequirement(stmt: Node): VersionRequirement | undefined {
  let newest: VersionRequirement | undefined;
  const consider = (found: VersionRequirement | undefined) => {
    if (found && (!newest || found.major > newest.major)) newest = { major: found.major, feature: found.feature };
  };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (!value || typeof value !== "object") return;
    for (const [key, child] of Object.entries(value as Node)) {
      // A node is { TypeName: { fields } }: type names start with a capital, field names do not.
      if (/^[A-Z]/.test(key) && child && typeof child === "object" && !Array.isArray(child)) {
        for (const rule of RULES) if (rule.matches(key, child)) consider(rule);
        consider(roleRequirement(key, child));
      }
      visit(child);
    }
  };
  visit(stmt);
  return newest;
}

/** 15 from 150004 (server_version_num). */
export function majorOf(serverVersionNum: number): number {
  return Math.floor(serverVersionNum / 10_000);
}

/** "13.23" from 130023, for messages. */
export function displayVersion(serverVersionNum: number): string {
  return `${majorOf(serverVersionNum)}.${serverVersionNum % 10_000}`;
}
