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
  /** The node types the rule looks at; `matches` is called only for those. */
  kinds: readonly string[];
  /** Called with a node of one of `kinds` and its type name, e.g. ("MergeStmt", {...}). */
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
  {
    major: 12,
    feature: "REINDEX CONCURRENTLY",
    kinds: ["ReindexStmt"],
    matches: (k, n) => k === "ReindexStmt" && (n.params ?? []).some((p: any) => p?.DefElem?.defname === "concurrently"),
  },
  {
    major: 14,
    feature: "DETACH PARTITION CONCURRENTLY",
    kinds: ["AlterTableCmd"],
    matches: (k, n) => subtype(k, n, "AT_DetachPartition") && Boolean(n.def?.PartitionCmd?.concurrent),
  },
  { major: 14, feature: "DETACH PARTITION ... FINALIZE", kinds: ["AlterTableCmd"], matches: (k, n) => subtype(k, n, "AT_DetachPartitionFinalize") },
  { major: 14, feature: "CREATE OR REPLACE TRIGGER", kinds: ["CreateTrigStmt"], matches: (k, n) => k === "CreateTrigStmt" && Boolean(n.replace) },
  {
    major: 14,
    feature: "column COMPRESSION",
    kinds: ["ColumnDef", "AlterTableCmd"],
    matches: (k, n) => (k === "ColumnDef" && Boolean(n.compression)) || subtype(k, n, "AT_SetCompression"),
  },
  { major: 15, feature: "MERGE", kinds: ["MergeStmt"], matches: (k) => k === "MergeStmt" },
  {
    major: 15,
    feature: "NULLS NOT DISTINCT",
    kinds: ["IndexStmt", "Constraint"],
    matches: (k, n) => (k === "IndexStmt" || k === "Constraint") && Boolean(n.nulls_not_distinct),
  },
  {
    major: 15,
    feature: "ON DELETE SET NULL/SET DEFAULT with a column list",
    kinds: ["Constraint"],
    matches: (k, n) => k === "Constraint" && (n.fk_del_set_cols ?? []).length > 0,
  },
  { major: 15, feature: "security_invoker views", kinds: ["DefElem"], matches: (k, n) => k === "DefElem" && n.defname === "security_invoker" },
  { major: 15, feature: "GRANT ... ON PARAMETER", kinds: ["GrantStmt"], matches: (k, n) => k === "GrantStmt" && n.objtype === "OBJECT_PARAMETER_ACL" },
  { major: 15, feature: "ALTER TABLE ... SET ACCESS METHOD", kinds: ["AlterTableCmd"], matches: (k, n) => subtype(k, n, "AT_SetAccessMethod") },
  {
    major: 16,
    feature: "GRANT role WITH INHERIT/SET",
    kinds: ["GrantRoleStmt"],
    matches: (k, n) => k === "GrantRoleStmt" && (n.opt ?? []).some((o: any) => ["inherit", "set"].includes(o?.DefElem?.defname)),
  },
  {
    major: 16,
    feature: "SQL/JSON constructors and IS JSON (JSON_OBJECT, JSON_ARRAY, JSON_OBJECTAGG, JSON_ARRAYAGG)",
    kinds: ["JsonObjectConstructor", "JsonArrayConstructor", "JsonArrayQueryConstructor", "JsonObjectAgg", "JsonArrayAgg", "JsonIsPredicate"],
    matches: (k) => ["JsonObjectConstructor", "JsonArrayConstructor", "JsonArrayQueryConstructor", "JsonObjectAgg", "JsonArrayAgg", "JsonIsPredicate"].includes(k),
  },
  { major: 17, feature: "MERGE ... RETURNING", kinds: ["MergeStmt"], matches: (k, n) => k === "MergeStmt" && (n.returningList ?? []).length > 0 },
  {
    major: 17,
    feature: "MERGE ... WHEN NOT MATCHED BY SOURCE",
    kinds: ["MergeWhenClause"],
    matches: (k, n) => k === "MergeWhenClause" && n.matchKind === "MERGE_WHEN_NOT_MATCHED_BY_SOURCE",
  },
  { major: 17, feature: "SQL/JSON query functions (JSON_QUERY, JSON_VALUE, JSON_EXISTS)", kinds: ["JsonFuncExpr"], matches: (k) => k === "JsonFuncExpr" },
  { major: 17, feature: "JSON_TABLE", kinds: ["JsonTable"], matches: (k) => k === "JsonTable" },
  {
    major: 17,
    feature: "JSON(), JSON_SCALAR(), JSON_SERIALIZE()",
    kinds: ["JsonParseExpr", "JsonScalarExpr", "JsonSerializeExpr"],
    matches: (k) => ["JsonParseExpr", "JsonScalarExpr", "JsonSerializeExpr"].includes(k),
  },
  { major: 17, feature: "the MAINTAIN privilege", kinds: ["AccessPriv"], matches: (k, n) => k === "AccessPriv" && n.priv_name === "maintain" },
  { major: 17, feature: "ALTER COLUMN ... SET EXPRESSION", kinds: ["AlterTableCmd"], matches: (k, n) => subtype(k, n, "AT_SetExpression") },
];

/** The rules by node type: a statement's tree has thousands of nodes, and most types have no rule. */
const RULES_BY_KIND = new Map<string, Rule[]>();
for (const rule of RULES) for (const kind of rule.kinds) RULES_BY_KIND.set(kind, [...(RULES_BY_KIND.get(kind) ?? []), rule]);

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
    for (const key in value as Node) {
      const child = (value as Node)[key];
      if (!child || typeof child !== "object") continue;
      // A node is { TypeName: { fields } }: type names start with a capital, field names do not.
      const code = key.charCodeAt(0);
      if (code >= 65 && code <= 90 && !Array.isArray(child)) {
        for (const rule of RULES_BY_KIND.get(key) ?? []) if (rule.matches(key, child)) consider(rule);
        if (key === "AccessPriv" || key === "RoleSpec") consider(roleRequirement(key, child));
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
