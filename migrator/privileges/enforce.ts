import type pg from "pg";
import { quoteIdent } from "../ledger.js";
import { intendedPrivileges, intendedRoles, type PrivilegeIntent } from "./intent.js";

/** One ACL item of a table the migrating role may change (it owns it, or is a member of its owner). */
export interface AclItem {
  schema: string;
  table: string;
  owner: string;
  /** null for PUBLIC. */
  grantee: string | null;
  privilege: string;
  grantable: boolean;
}

export interface PrivilegeStatement {
  sql: string;
  /** What it changes, for the progress line. */
  says: string;
}

/** The tables of the intent's schemas this session can grant on, with every ACL item, the default ACL spelled out. */
export async function readAcl(client: pg.ClientBase, schemas: string[]): Promise<{ items: AclItem[]; tables: { schema: string; table: string }[] }> {
  const { rows } = await client.query<{ schema: string; table: string; owner: string; grantee: string | null; privilege: string | null; grantable: boolean | null }>(
    `SELECT n.nspname AS schema, c.relname AS table, pg_get_userbyid(c.relowner) AS owner,
            CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a ON true
      WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND pg_has_role(current_user, c.relowner, 'USAGE')
      ORDER BY 1, 2, 4, 5`,
    [schemas],
  );
  const tables = new Map<string, { schema: string; table: string }>();
  const items: AclItem[] = [];
  for (const r of rows) {
    tables.set(JSON.stringify([r.schema, r.table]), { schema: r.schema, table: r.table });
    if (r.privilege !== null)
      items.push({ schema: r.schema, table: r.table, owner: r.owner, grantee: r.grantee, privilege: r.privilege, grantable: r.grantable === true });
  }
  return { items, tables: [...tables.values()] };
}

/**
 * What makes the ACLs of these tables what the intent says, for the intent's roles and PUBLIC.
 * Other roles' grants are left as they are: the stack does not know why they were made, so the
 * verification check names them and a person decides. Revokes CASCADE, so a privilege a role
 * passed on with a grant option goes with it.
 */
export function privilegeStatements(
  intent: PrivilegeIntent,
  acl: { items: AclItem[]; tables: { schema: string; table: string }[] },
  existingRoles: Set<string>,
): PrivilegeStatement[] {
  const statements: PrivilegeStatement[] = [];
  const roles = intendedRoles(intent).filter((r) => existingRoles.has(r));
  for (const { schema, table } of acl.tables) {
    const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const items = acl.items.filter((i) => i.schema === schema && i.table === table && i.grantee !== i.owner);
    const publicPrivileges = items.filter((i) => i.grantee === null).map((i) => i.privilege);
    if (publicPrivileges.length > 0) {
      statements.push({ sql: `REVOKE ALL ON TABLE ${target} FROM PUBLIC CASCADE`, says: `PUBLIC loses ${publicPrivileges.join(", ")} on ${target}` });
    }
    for (const role of roles) {
      const want = new Set<string>(intendedPrivileges(intent, role, schema, table));
      const held = items.filter((i) => i.grantee === role);
      const extra = held.filter((i) => !want.has(i.privilege)).map((i) => i.privilege);
      const missing = [...want].filter((p) => !held.some((i) => i.privilege === p));
      const grantOption = held.filter((i) => i.grantable && want.has(i.privilege)).map((i) => i.privilege);
      const who = quoteIdent(role);
      if (extra.length > 0)
        statements.push({ sql: `REVOKE ${extra.join(", ")} ON TABLE ${target} FROM ${who} CASCADE`, says: `${role} loses ${extra.join(", ")} on ${target}` });
      if (grantOption.length > 0) {
        statements.push({
          sql: `REVOKE GRANT OPTION FOR ${grantOption.join(", ")} ON TABLE ${target} FROM ${who} CASCADE`,
          says: `${role} loses the grant option for ${grantOption.join(", ")} on ${target}`,
        });
      }
      if (missing.length > 0)
        statements.push({ sql: `GRANT ${missing.join(", ")} ON TABLE ${target} TO ${who}`, says: `${role} gets ${missing.join(", ")} on ${target}` });
    }
  }
  return statements;
}

/**
 * Makes the tables' privileges what the intent says, in one transaction, and returns what it
 * changed (nothing when they already are: a re-run changes no catalog row). Runs under the
 * migration lock after the files, so a table a file just created, whose default privileges gave
 * the application more than the intent allows, is corrected before anything else sees the run end.
 */
export async function enforcePrivileges(client: pg.ClientBase, intent: PrivilegeIntent): Promise<PrivilegeStatement[]> {
  await client.query("BEGIN");
  try {
    const acl = await readAcl(client, intent.schemas);
    const { rows } = await client.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname = ANY ($1::text[])`, [intendedRoles(intent)]);
    const statements = privilegeStatements(intent, acl, new Set(rows.map((r) => r.rolname)));
    for (const s of statements) await client.query(s.sql);
    await client.query("COMMIT");
    return statements;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw new Error(`making the table privileges what the stack intends failed: ${(error as Error).message}`, { cause: error });
  }
}
