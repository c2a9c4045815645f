/**
 * Issue 22 items 3 and 4 under the real Pulumi engine: the migrator's password holds every URL
 * and shell special, a quote, a backtick and a backslash, and the role logs in with exactly that
 * password; `pulumi refresh --expect-no-changes` right after `up` passes, and still does after a
 * new migration file and its `up`. The steps build on each other, so they run in order.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { localStack, type LocalStack } from "./local-stack-fixture.js";

const DATABASE = "engine_refresh";
/** Every URL and shell special, both quotes, a backtick, a backslash and a space. */
const MIGRATOR_PASSWORD = "p@ss:/?#[]!$&'()*+,;= %`\"\\~";
/** What the password is rotated to: a leading dash, command substitutions that would leave `marker` if a shell ran them, quotes, backslashes, a tab. */
const rotatedPassword = (marker: string) => `-$(touch ${marker})\`touch ${marker}\`\\'"\t\\n{}|^<>`;

let stack: LocalStack;

const run = (args: string[]) => stack.project.pulumi([...args, "--stack", "local"], { timeoutMs: 600_000 });
const printed = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

async function asSuperuser<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: stack.first.url(DATABASE) });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Logs in as the migrator with exactly `password`: resolves with the session's user, or rejects. */
async function loginAsMigrator(password: string): Promise<string> {
  const client = new pg.Client({ host: "127.0.0.1", port: stack.first.port, database: DATABASE, user: "migrator", password });
  await client.connect();
  try {
    return (await client.query<{ u: string }>("SELECT current_user AS u")).rows[0]!.u;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  stack = await localStack({ database: DATABASE, migratorPassword: MIGRATOR_PASSWORD, logStatements: true });
}, 300_000);

afterAll(() => stack?.remove());

describe("any password, and no drift on refresh, under the real Pulumi engine", () => {
  test("1. up with a password of every special character: verification passes, the migrator logs in with exactly it", async () => {
    const r = await run(["up", "--yes", "--skip-preview"]);
    expect(r.code, printed(r)).toBe(0);
    const outputs = JSON.parse(await stack.project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as {
      verification: { ok: boolean; failed: number; checks: { name: string; ok: boolean }[] };
    };
    expect(outputs.verification.failed).toBe(0);
    expect(outputs.verification.ok).toBe(true);

    expect(await loginAsMigrator(MIGRATOR_PASSWORD)).toBe("migrator");
    // The provider's quoting doubled a backslash: that form must not be the password.
    await expect(loginAsMigrator(MIGRATOR_PASSWORD.replace(/\\/g, "\\\\"))).rejects.toThrow(/password authentication failed/);

    // The server holds a SCRAM-SHA-256 verifier, and it is the one the program computed and handed
    // to the provider: the clear password is not among the role's inputs or outputs in the state.
    const [stored] = await asSuperuser<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'migrator'");
    expect(stored!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    const exported = JSON.parse(await stack.project.pulumiOk(["stack", "export", "--show-secrets", "--stack", "local"])) as {
      deployment: { resources: { urn: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[] };
    };
    const role = exported.deployment.resources.find((res) => res.urn.endsWith("postgresql:index/role:Role::access-migrator"));
    expect(role, "the migrator Role in the state").toBeDefined();
    const roleText = JSON.stringify(role);
    expect(roleText).toContain(stored!.rolpassword);
    expect(roleText).not.toContain(JSON.stringify(MIGRATOR_PASSWORD).slice(1, -1));
    // The server logged the provider's CREATE ROLE with the verifier, and the password nowhere.
    expect(stack.serverLog()).toMatch(/CREATE ROLE "migrator"[^\n]*PASSWORD 'SCRAM-SHA-256\$4096:/);
    expect(stack.serverLog()).not.toContain(MIGRATOR_PASSWORD);
  });

  test("2. refresh --expect-no-changes right after up passes, and so does the next preview", async () => {
    const refresh = await run(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(refresh.code, printed(refresh)).toBe(0);
    const preview = await run(["preview", "--expect-no-changes"]);
    expect(preview.code, printed(preview)).toBe(0);
  });

  test("3. a new migration file and its up: refresh --expect-no-changes still passes", async () => {
    const dir = path.join(stack.project.dir, "sql/migrations", "20990101000000_engine_refresh_note");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "migration.sql"), "CREATE TABLE engine_refresh_note (id bigint PRIMARY KEY, note text NOT NULL);\n");
    const up = await run(["up", "--yes", "--skip-preview"]);
    expect(up.code, printed(up)).toBe(0);
    const [privileges] = await asSuperuser<{ update: boolean; del: boolean }>(
      "SELECT has_table_privilege('app', 'public.\"PointTransaction\"', 'UPDATE') AS update, has_table_privilege('app', 'public.\"PointTransaction\"', 'DELETE') AS del",
    );
    expect(privileges).toEqual({ update: false, del: false });

    const refresh = await run(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(refresh.code, printed(refresh)).toBe(0);
    const preview = await run(["preview", "--expect-no-changes"]);
    expect(preview.code, printed(preview)).toBe(0);
    expect(await loginAsMigrator(MIGRATOR_PASSWORD)).toBe("migrator");
  });

  test("4. a privilege granted outside the stack is drift that refresh reports; the next up takes it away, and refresh is clean again", async () => {
    await asSuperuser(`GRANT UPDATE, DELETE ON public."PointTransaction" TO app`);
    const refresh = await run(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(refresh.code, printed(refresh)).not.toBe(0);
    expect(printed(refresh)).toMatch(/access-app-pointtransaction-append-only/);
    expect(printed(refresh)).toMatch(/no changes were expected/);

    const up = await run(["up", "--yes", "--skip-preview"]);
    expect(up.code, printed(up)).toBe(0);
    const [privileges] = await asSuperuser<{ update: boolean; del: boolean; ins: boolean; sel: boolean }>(
      `SELECT has_table_privilege('app', 'public."PointTransaction"', 'UPDATE') AS update, has_table_privilege('app', 'public."PointTransaction"', 'DELETE') AS del,
              has_table_privilege('app', 'public."PointTransaction"', 'INSERT') AS ins, has_table_privilege('app', 'public."PointTransaction"', 'SELECT') AS sel`,
    );
    expect(privileges).toEqual({ update: false, del: false, ins: true, sel: true });
    const clean = await run(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(clean.code, printed(clean)).toBe(0);
  });

  test("5. a rotated password: up gives the role the new one's verifier; it logs in with the new password only; refresh stays clean", async () => {
    const marker = path.join(stack.scratch, "a-shell-ran-the-password");
    const ROTATED_PASSWORD = rotatedPassword(marker);
    await stack.configSet("migratorPassword", ROTATED_PASSWORD, true);
    const up = await run(["up", "--yes", "--skip-preview"]);
    expect(up.code, printed(up)).toBe(0);
    expect(await loginAsMigrator(ROTATED_PASSWORD)).toBe("migrator");
    await expect(loginAsMigrator(MIGRATOR_PASSWORD)).rejects.toThrow(/password authentication failed/);
    const outputs = JSON.parse(await stack.project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as { verification: { ok: boolean } };
    expect(outputs.verification.ok).toBe(true);
    expect(`${stack.serverLog()}\n${printed(up)}`).not.toContain(ROTATED_PASSWORD);
    expect(existsSync(marker)).toBe(false);
    const refresh = await run(["refresh", "--yes", "--skip-preview", "--expect-no-changes"]);
    expect(refresh.code, printed(refresh)).toBe(0);
  });

  test("6. a privilege planted outside the stack on a table no Grant names: the next verification fails table_privileges naming it, from the database", async () => {
    await asSuperuser(`GRANT TRUNCATE ON public."Member" TO app`);
    await stack.configSet("verificationRun", "after-a-planted-grant", false);
    const up = await run(["up", "--yes", "--skip-preview"]);
    expect(up.code, printed(up)).toBe(0); // the local stack warns on a failed check; prod fails the up
    const outputs = JSON.parse(await stack.project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as {
      verification: { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    };
    const check = outputs.verification.checks.find((c) => c.name === "table_privileges");
    expect(check, JSON.stringify(outputs.verification)).toMatchObject({ ok: false });
    expect(check!.detail).toMatch(/Member/);
    expect(check!.detail).toMatch(/TRUNCATE/i);
    expect(outputs.verification.ok).toBe(false);
    await asSuperuser(`REVOKE TRUNCATE ON public."Member" FROM app`);
    await stack.configSet("verificationRun", "after-the-grant-was-revoked", false);
    const again = await run(["up", "--yes", "--skip-preview"]);
    expect(again.code, printed(again)).toBe(0);
    const after = JSON.parse(await stack.project.pulumiOk(["stack", "output", "--json", "--stack", "local"])) as { verification: { ok: boolean } };
    expect(after.verification.ok).toBe(true);
  });
});
