/**
 * Least privilege in the database (issue 22, items 1 and 2), on a real PostgreSQL: the roles and
 * grants the stacks' DatabaseAccess makes, as the statements the postgresql provider sends; the
 * v2.0 set applied by the migrator as the migrator role with the stack's privilege intent; then
 * what pg_class.relacl and has_table_privilege say, and what 15_table_privileges.sql reports.
 */
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { privilegeIntent } from "../infra/privilege-intent.js";
import { PRIVILEGES_ENV, type PrivilegeIntent } from "../migrator/privileges/intent.js";
import { migrate } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { query } from "./support/migrator-db.js";
import { MIGRATIONS, VERIFY } from "./support/seed-set.js";

const suffix = randomBytes(4).toString("hex");
const ROLES = { migrator: `mig_${suffix}`, app: `app_${suffix}`, auditor: `aud_${suffix}`, other: `bi_${suffix}` };
const PASSWORD = `pw-${suffix}`;
const INTENT: PrivilegeIntent = privilegeIntent({
  access: { schema: "public", migratorRole: ROLES.migrator, appRole: ROLES.app, auditorRole: ROLES.auditor, immutableTables: ["PointTransaction"] },
  migrations: { ledgerSchema: "migrator" },
});
const scratch: string[] = [];

afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** The role statements the provider runs for DatabaseAccess's constructor (roles, database, schemas, default privileges). */
async function provision(adminUrl: string): Promise<string> {
  const database = new URL(adminUrl).pathname.slice(1);
  await withTestClient(adminUrl, async (c) => {
    for (const [role, login] of [
      [ROLES.migrator, `LOGIN PASSWORD '${PASSWORD}'`],
      [ROLES.app, "NOLOGIN"],
      [ROLES.auditor, "NOLOGIN"],
      [ROLES.other, "NOLOGIN"],
    ] as const) {
      const exists = await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
      if (exists.rowCount === 0) await c.query(`CREATE ROLE "${role}" ${login}`);
    }
    await c.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE "${database}" TO "${ROLES.migrator}"`);
    await c.query(`GRANT CONNECT ON DATABASE "${database}" TO "${ROLES.app}", "${ROLES.auditor}"`);
    await c.query(`GRANT USAGE, CREATE ON SCHEMA public TO "${ROLES.migrator}"`);
    await c.query(`GRANT USAGE ON SCHEMA public TO "${ROLES.app}", "${ROLES.auditor}"`);
    await c.query(`CREATE SCHEMA migrator AUTHORIZATION "${ROLES.migrator}"`);
    await c.query(`GRANT USAGE ON SCHEMA migrator TO "${ROLES.auditor}"`);
    const forMigrator = `ALTER DEFAULT PRIVILEGES FOR ROLE "${ROLES.migrator}"`;
    await c.query(`${forMigrator} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "${ROLES.app}"`);
    await c.query(`${forMigrator} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "${ROLES.app}"`);
    await c.query(`${forMigrator} IN SCHEMA public GRANT SELECT ON TABLES TO "${ROLES.auditor}"`);
    await c.query(`${forMigrator} IN SCHEMA migrator GRANT SELECT ON TABLES TO "${ROLES.auditor}"`);
  });
  const url = new URL(adminUrl);
  url.username = ROLES.migrator;
  url.password = PASSWORD;
  return url.toString();
}

/**
 * The Grants of afterMigrations as the provider runs them: it revokes only the privileges a
 * Grant lists (createRevokeQuery in the provider's resource_postgresql_grant.go), then grants them.
 */
async function providerGrantsAfterMigrations(adminUrl: string): Promise<void> {
  await withTestClient(adminUrl, async (c) => {
    await c.query(`REVOKE INSERT, SELECT ON TABLE public."PointTransaction" FROM "${ROLES.app}"`);
    await c.query(`GRANT INSERT, SELECT ON TABLE public."PointTransaction" TO "${ROLES.app}"`);
    await c.query(`REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM "${ROLES.auditor}"`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${ROLES.auditor}"`);
  });
}

const withIntent = { [PRIVILEGES_ENV]: JSON.stringify(INTENT) };

async function apply(url: string, dir = MIGRATIONS, env: NodeJS.ProcessEnv = withIntent) {
  const run = await migrate(["apply", "--database-url", url, "--dir", dir], env);
  expect(run.code, run.stderr).toBe(0);
  return run;
}

async function privilegeCheck(url: string, dir = MIGRATIONS): Promise<{ ok: boolean; detail: string }> {
  const run = await migrate(["verify", "--database-url", url, "--dir", dir, "--verify-dir", VERIFY, "--json", "--quiet"], withIntent);
  const checks = (JSON.parse(run.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
  const check = checks.find((c) => c.name === "table_privileges");
  expect(check, run.stdout).toBeDefined();
  return check!;
}

/** Each role's privileges on a table as the catalog holds them (pg_class.relacl), the owner left out. */
async function acl(url: string, table: string): Promise<Record<string, string[]>> {
  const rows = await query<{ grantee: string; privileges: string[] }>(
    url,
    `SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, array_agg(a.privilege_type::text ORDER BY a.privilege_type) AS privileges
       FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
      WHERE c.oid = $1::regclass AND a.grantee <> c.relowner GROUP BY 1`,
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.grantee, r.privileges]));
}

const canDo = async (url: string, role: string, table: string, privilege: string) =>
  (await query<{ ok: boolean }>(url, `SELECT has_table_privilege($1, $2::regclass, $3) AS ok`, [role, table, privilege]))[0]!.ok;

describe("table privileges held in the database", () => {
  test("without the privilege step (the code before issue 22) the app can UPDATE and DELETE the ledger, and the check says so", async () => {
    const admin = await freshDatabase("privold");
    const url = await provision(admin);
    await apply(url, MIGRATIONS, {});
    await providerGrantsAfterMigrations(admin);
    expect(await canDo(url, ROLES.app, 'public."PointTransaction"', "UPDATE")).toBe(true);
    expect(await canDo(url, ROLES.app, 'public."PointTransaction"', "DELETE")).toBe(true);
    const check = await privilegeCheck(url);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${ROLES.app} holds UPDATE, DELETE on public."PointTransaction", beyond the intended INSERT, SELECT`);
  });

  test("apply with the intent: the app holds exactly SELECT, INSERT on the ledger, the auditor exactly SELECT; the check passes, also after the provider's grants and a re-run", async () => {
    const admin = await freshDatabase("privnew");
    const url = await provision(admin);
    const first = await apply(url);
    expect(first.stdout).toContain(`privileges  ${ROLES.app} loses DELETE, UPDATE on "public"."PointTransaction"`);
    await providerGrantsAfterMigrations(admin);

    expect(await acl(url, 'public."PointTransaction"')).toEqual({ [ROLES.app]: ["INSERT", "SELECT"], [ROLES.auditor]: ["SELECT"] });
    expect(await acl(url, 'public."Member"')).toEqual({ [ROLES.app]: ["DELETE", "INSERT", "SELECT", "UPDATE"], [ROLES.auditor]: ["SELECT"] });
    expect(await acl(url, "migrator.applied_migrations")).toEqual({ [ROLES.auditor]: ["SELECT"] });
    for (const p of ["UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]) expect(await canDo(url, ROLES.app, 'public."PointTransaction"', p), p).toBe(false);
    for (const p of ["INSERT", "UPDATE", "DELETE", "TRUNCATE"]) expect(await canDo(url, ROLES.auditor, "migrator.applied_migrations", p), p).toBe(false);

    const check = await privilegeCheck(url);
    expect(check, check.detail).toMatchObject({ ok: true });
    expect(check.detail).toContain(`${ROLES.app}: SELECT, INSERT on public."PointTransaction"`);

    // A re-run changes nothing: no privilege line, the same ACL.
    const again = await apply(url);
    expect(again.stdout).not.toMatch(/privileges\s/);
    expect(await acl(url, 'public."PointTransaction"')).toEqual({ [ROLES.app]: ["INSERT", "SELECT"], [ROLES.auditor]: ["SELECT"] });
  });

  test("a table a later migration creates gets what the intent says; a planted grant fails the check, named, and apply takes back only what the intent covers", async () => {
    const admin = await freshDatabase("privplant");
    const url = await provision(admin);
    const dir = await mkdtemp(path.join(os.tmpdir(), "privset-"));
    scratch.push(dir);
    await cp(MIGRATIONS, dir, { recursive: true });
    await apply(url, dir);
    await mkdir(path.join(dir, "20990101000000_badges"));
    await writeFile(path.join(dir, "20990101000000_badges", "migration.sql"), 'CREATE TABLE "Badge" (id bigint PRIMARY KEY, name text NOT NULL);\n');
    await apply(url, dir);
    expect(await acl(url, 'public."Badge"')).toEqual({ [ROLES.app]: ["DELETE", "INSERT", "SELECT", "UPDATE"], [ROLES.auditor]: ["SELECT"] });
    expect((await privilegeCheck(url, dir)).ok).toBe(true);

    await withTestClient(admin, async (c) => {
      await c.query(`GRANT UPDATE ON public."PointTransaction" TO "${ROLES.app}"`);
      await c.query(`GRANT SELECT ON public."Member" TO PUBLIC`);
      await c.query(`GRANT SELECT ON migrator.applied_migrations TO "${ROLES.other}"`);
      await c.query(`GRANT INSERT ON public."Badge" TO "${ROLES.auditor}"`);
    });
    const planted = await privilegeCheck(url, dir);
    expect(planted.ok).toBe(false);
    expect(planted.detail).toContain(`${ROLES.app} holds UPDATE on public."PointTransaction", beyond the intended INSERT, SELECT`);
    expect(planted.detail).toContain(`PUBLIC is granted SELECT on public."Member", and the intent grants it nothing`);
    expect(planted.detail).toContain(`${ROLES.other} is granted SELECT on migrator.applied_migrations, and the intent grants it nothing`);
    expect(planted.detail).toContain(`${ROLES.auditor} holds INSERT on public."Badge", beyond the intended SELECT`);

    // The next apply restores the intent for its roles and PUBLIC; a role it does not know is left to a person.
    await apply(url, dir);
    const after = await privilegeCheck(url, dir);
    expect(after.ok).toBe(false);
    expect(after.detail).toMatch(/^1 difference\(s\) from the intent: /);
    expect(after.detail).toContain(`${ROLES.other} is granted SELECT on migrator.applied_migrations`);
    await withTestClient(admin, (c) => c.query(`REVOKE ALL ON migrator.applied_migrations FROM "${ROLES.other}"`));
    expect((await privilegeCheck(url, dir)).ok).toBe(true);

    // A privilege through membership counts: the check asks PostgreSQL, not only the ACL.
    await withTestClient(admin, (c) => c.query(`GRANT "${ROLES.migrator}" TO "${ROLES.auditor}"`));
    const member = await privilegeCheck(url, dir);
    expect(member.ok).toBe(false);
    expect(member.detail).toContain(`${ROLES.auditor} holds INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER`);
    await withTestClient(admin, (c) => c.query(`REVOKE "${ROLES.migrator}" FROM "${ROLES.auditor}"`));
  });

  test("without an intent the check compares nothing and says so", async () => {
    const url = await freshDatabase("privnone");
    expect((await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS, "--quiet"])).code).toBe(0);
    const run = await migrate(["verify", "--database-url", url, "--verify-dir", VERIFY, "--json", "--quiet"]);
    const check = (JSON.parse(run.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks.find((c) => c.name === "table_privileges");
    expect(check).toMatchObject({ ok: true, detail: expect.stringContaining("no privilege intent was given") });
  });

  test("a malformed intent is bad usage before anything runs", async () => {
    const url = await freshDatabase("privbad");
    const run = await migrate(["apply", "--database-url", url, "--dir", MIGRATIONS], {
      [PRIVILEGES_ENV]: JSON.stringify({ owner: "m", schemas: ["public"], grants: [{ role: "a", schema: "public", privileges: ["ALL"] }] }),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("grants[0].privileges must list only SELECT, INSERT");
  });
});
