import type pg from "pg";

/**
 * The catalog as the server reports it, one array per query, before normalising. Every query reads
 * pg_catalog only, which every role may read, and the pg_get_*def functions, which need no
 * privilege on the object: so an auditor's read-only role gets the same answer as the migrator.
 * Written for PostgreSQL 13 to 17: no column that only some of them have (attcompression (14),
 * conparentid differences, …) is read.
 */
export interface RawCatalog {
  serverVersionNum: number;
  schemas: { name: string; comment: string | null; owner: string; acl: string[] }[];
  extensions: { name: string; version: string; schema: string }[];
  relations: {
    schema: string;
    name: string;
    kind: string;
    persistence: string;
    partitionOf: string | null;
    partitionBound: string | null;
    partitionKey: string | null;
    rowSecurity: boolean;
    forceRowSecurity: boolean;
    viewDefinition: string | null;
    comment: string | null;
    owner: string;
    acl: string[];
  }[];
  columns: {
    schema: string;
    table: string;
    position: number;
    name: string;
    type: string;
    notNull: boolean;
    default: string | null;
    identity: string;
    generated: string;
    collation: string | null;
    comment: string | null;
    acl: string[];
  }[];
  constraints: {
    schema: string;
    table: string;
    name: string;
    type: string;
    definition: string;
    validated: boolean;
    deferrable: boolean;
    deferred: boolean;
    comment: string | null;
  }[];
  indexes: {
    schema: string;
    table: string;
    name: string;
    definition: string;
    valid: boolean;
    unique: boolean;
    primary: boolean;
    method: string;
    comment: string | null;
  }[];
  triggers: { schema: string; table: string; name: string; definition: string; enabled: string; comment: string | null }[];
  policies: { schema: string; table: string; name: string; command: string; permissive: boolean; roles: string[]; using: string | null; check: string | null }[];
  sequences: {
    schema: string;
    name: string;
    type: string;
    start: string;
    increment: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
    ownedBy: string | null;
    comment: string | null;
    owner: string;
    acl: string[];
  }[];
  types: {
    schema: string;
    name: string;
    kind: string;
    enumValues: string[] | null;
    baseType: string | null;
    notNull: boolean;
    default: string | null;
    constraints: string[] | null;
    attributes: string[] | null;
    comment: string | null;
    owner: string;
    acl: string[];
  }[];
  functions: {
    schema: string;
    name: string;
    arguments: string;
    kind: string;
    result: string | null;
    definition: string | null;
    comment: string | null;
    owner: string;
    acl: string[];
  }[];
}

export interface CatalogScope {
  /** Relations that belong to the migrator itself (the ledger, the snapshots): never part of the schema. */
  excludeRelations: { schema: string; name: string }[];
  /** Schemas created by the migrator for its own tables; left out of the schema list (their other objects are kept). */
  excludeSchemas: string[];
}

/** The schemas a migration set manages: every one but the server's own. */
const MANAGED_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`;

/** An object an extension created is the extension's, not the migrations': its version names it. */
const notFromExtension = (classTable: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classTable}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

/**
 * An ACL as sorted "grantee=privilege" items, with NULL (the built-in default) expanded by
 * acldefault so that an explicit grant of exactly the default reads the same. The owner reads as
 * "(owner)", so the same grants under another owner name compare equal; who owns it is its own field.
 */
const aclOf = (acl: string, kind: string, owner: string) =>
  `coalesce((SELECT array_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' WHEN a.grantee = ${owner} THEN '(owner)' ELSE a.grantee::regrole::text END || '=' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END ORDER BY 1)
       FROM aclexplode(coalesce(${acl}, acldefault('${kind}', ${owner}))) a), '{}')`;

const relationExcluded = `(n.nspname, c.relname) IN (SELECT x.schema, x.name FROM json_to_recordset($1::json) AS x(schema text, name text))`;

const QUERIES: Record<Exclude<keyof RawCatalog, "serverVersionNum">, string> = {
  schemas: `
    SELECT n.nspname AS name, obj_description(n.oid, 'pg_namespace') AS comment, n.nspowner::regrole::text AS owner, ${aclOf("n.nspacl", "n", "n.nspowner")} AS acl
      FROM pg_namespace n
     WHERE ${MANAGED_NAMESPACE} AND n.nspname <> ALL ($1::text[]) AND ${notFromExtension("pg_namespace", "n.oid")}`,
  extensions: `
    SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
  relations: `
    SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence::text AS persistence,
           (SELECT pc.oid::regclass::text FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent WHERE i.inhrelid = c.oid AND c.relispartition) AS "partitionOf",
           pg_get_expr(c.relpartbound, c.oid) AS "partitionBound",
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS "partitionKey",
           c.relrowsecurity AS "rowSecurity", c.relforcerowsecurity AS "forceRowSecurity",
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS "viewDefinition",
           obj_description(c.oid, 'pg_class') AS comment, c.relowner::regrole::text AS owner, ${aclOf("c.relacl", "r", "c.relowner")} AS acl
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${MANAGED_NAMESPACE} AND NOT (${relationExcluded}) AND ${notFromExtension("pg_class", "c.oid")}`,
  columns: `
    SELECT n.nspname AS schema, c.relname AS table, a.attnum AS position, a.attname AS name,
           format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
           pg_get_expr(ad.adbin, ad.adrelid) AS default, a.attidentity::text AS identity, a.attgenerated::text AS generated,
           CASE WHEN a.attcollation <> t.typcollation THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
           col_description(c.oid, a.attnum) AS comment,
           coalesce((SELECT array_agg(CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END || '=' || x.privilege_type || CASE WHEN x.is_grantable THEN '*' ELSE '' END ORDER BY 1) FROM aclexplode(a.attacl) x), '{}') AS acl
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND ${MANAGED_NAMESPACE} AND NOT (${relationExcluded}) AND ${notFromExtension("pg_class", "c.oid")}`,
  constraints: `
    SELECT n.nspname AS schema, c.relname AS table, k.conname AS name, k.contype::text AS type, pg_get_constraintdef(k.oid) AS definition,
           k.convalidated AS validated, k.condeferrable AS deferrable, k.condeferred AS deferred, obj_description(k.oid, 'pg_constraint') AS comment
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${MANAGED_NAMESPACE} AND NOT (${relationExcluded}) AND ${notFromExtension("pg_class", "c.oid")}`,
  indexes: `
    SELECT n.nspname AS schema, c.relname AS table, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
           i.indisvalid AS valid, i.indisunique AS unique, i.indisprimary AS primary, am.amname AS method, obj_description(ic.oid, 'pg_class') AS comment
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = ic.relam
     WHERE ${MANAGED_NAMESPACE} AND NOT (${relationExcluded}) AND ${notFromExtension("pg_class", "c.oid")}`,
  triggers: `
    SELECT n.nspname AS schema, c.relname AS table, g.tgname AS name, pg_get_triggerdef(g.oid) AS definition, g.tgenabled::text AS enabled,
           obj_description(g.oid, 'pg_trigger') AS comment
      FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT g.tgisinternal AND ${MANAGED_NAMESPACE} AND NOT (${relationExcluded}) AND ${notFromExtension("pg_class", "c.oid")}`,
  policies: `
    SELECT n.nspname AS schema, c.relname AS table, p.polname AS name, p.polcmd::text AS command, p.polpermissive AS permissive,
           coalesce((SELECT array_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END ORDER BY 1) FROM unnest(p.polroles) r), '{}') AS roles,
           pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS check
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${MANAGED_NAMESPACE} AND NOT (${relationExcluded})`,
  sequences: `
    SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start, s.seqincrement::text AS increment,
           s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle,
           (SELECT quote_ident(tn.nspname) || '.' || quote_ident(tc.relname) || '.' || quote_ident(ta.attname)
              FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
              JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) AS "ownedBy",
           obj_description(c.oid, 'pg_class') AS comment, c.relowner::regrole::text AS owner, ${aclOf("c.relacl", "s", "c.relowner")} AS acl
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${MANAGED_NAMESPACE} AND NOT (${relationExcluded}) AND ${notFromExtension("pg_class", "c.oid")}`,
  types: `
    SELECT n.nspname AS schema, t.typname AS name, t.typtype::text AS kind,
           CASE WHEN t.typtype = 'e' THEN (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) END AS "enumValues",
           CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS "baseType",
           t.typnotnull AS "notNull", t.typdefault AS default,
           CASE WHEN t.typtype = 'd' THEN (SELECT array_agg(k.conname || ' ' || pg_get_constraintdef(k.oid) ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid) END AS constraints,
           CASE WHEN t.typtype = 'c' THEN (SELECT array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END AS attributes,
           obj_description(t.oid, 'pg_type') AS comment, t.typowner::regrole::text AS owner, ${aclOf("t.typacl", "T", "t.typowner")} AS acl
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype IN ('e', 'd', 'c', 'r', 'm') AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
       AND ${MANAGED_NAMESPACE} AND ${notFromExtension("pg_type", "t.oid")}`,
  functions: `
    SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments, p.prokind::text AS kind,
           pg_get_function_result(p.oid) AS result,
           CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) END AS definition,
           obj_description(p.oid, 'pg_proc') AS comment, p.proowner::regrole::text AS owner, ${aclOf("p.proacl", "f", "p.proowner")} AS acl
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${MANAGED_NAMESPACE} AND ${notFromExtension("pg_proc", "p.oid")}`,
};

/**
 * Reads the managed schemas' catalog in one read-only, repeatable-read transaction (so every
 * query sees the same moment), with search_path set to pg_catalog alone so that every name the
 * server prints is schema-qualified the same way whatever the session's own path was.
 */
export async function readCatalog(client: pg.ClientBase, scope: CatalogScope): Promise<RawCatalog> {
  const excluded = JSON.stringify(scope.excludeRelations);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL search_path = pg_catalog");
  try {
    const version = await client.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v");
    const raw: Partial<RawCatalog> = { serverVersionNum: version.rows[0]!.v };
    for (const [key, sql] of Object.entries(QUERIES) as [keyof typeof QUERIES, string][]) {
      const params: unknown[] = key === "schemas" ? [scope.excludeSchemas] : sql.includes("$1") ? [excluded] : [];
      const { rows } = await client.query(sql, params);
      (raw as Record<string, unknown>)[key] = rows;
    }
    await client.query("COMMIT");
    return raw as RawCatalog;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw new Error(`reading the catalog: ${(error as Error).message}`, { cause: error });
  }
}
