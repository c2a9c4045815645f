/**
 * Issue 22 item 4, on a real PostgreSQL: the SCRAM-SHA-256 verifier the stack hands the
 * postgresql provider instead of the migrator's password (infra/scram.ts). A role given the
 * verifier logs in with exactly the password; the server's own verifier has the same form and,
 * recomputed with the server's salt, the same keys; the migrator connects with such a password
 * through the URL the stack builds, both as --database-url and as DATABASE_URL.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { formatConnectionUrl } from "../infra/database-url.js";
import { roleVerifier, saslprepMayChange, SCRAM_ITERATIONS, SCRAM_VERIFIER, scramSalt, scramSha256Verifier } from "../infra/scram.js";
import { migrateProcess } from "./support/cli.js";
import { freshDatabase, withTestClient } from "./support/database.js";
import { ledgerRows } from "./support/migrator-db.js";

/** Every URL and shell special, both quotes, a backtick, a backslash and a space. */
const SPECIAL = "p@ss:/?#[]!$&'()*+,;= %`\"\\~";
const PASSWORDS = [SPECIAL, "plain-password", "-starts-with-a-dash", "\\\\two backslashes\\\\ and 'quotes''", "üñíçødé-ß-€", "emoji-🔐-pass", "x".repeat(200)];

let adminUrl: string;
let database: string;
const suffix = randomBytes(4).toString("hex");
const roles: string[] = [];
const scratch: string[] = [];

/** The quoting the provider applies to a PASSWORD literal (pqQuoteLiteral in its helpers.go), standard_conforming_strings on. */
const providerQuoted = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;

async function login(user: string, password: string): Promise<string> {
  const url = new URL(adminUrl);
  const client = new pg.Client({ host: url.hostname, port: Number(url.port), database, user, password });
  await client.connect();
  try {
    return (await client.query<{ u: string }>("SELECT current_user AS u")).rows[0]!.u;
  } finally {
    await client.end();
  }
}

async function stored(role: string): Promise<string> {
  return withTestClient(adminUrl, async (c) => (await c.query<{ p: string }>("SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1", [role])).rows[0]!.p);
}

/** A login role given `password` the way the stack does: the verifier, in the provider's own quoting. */
async function roleWithVerifier(password: string): Promise<string> {
  const role = `scram_${suffix}_${roles.length}`;
  roles.push(role);
  await withTestClient(adminUrl, (c) => c.query(`CREATE ROLE "${role}" LOGIN ENCRYPTED PASSWORD ${providerQuoted(roleVerifier(password, role))}`));
  return role;
}

beforeAll(async () => {
  adminUrl = await freshDatabase("scram");
  database = new URL(adminUrl).pathname.slice(1);
});

afterAll(async () => {
  await withTestClient(adminUrl, async (c) => {
    for (const role of roles) await c.query(`DROP OWNED BY "${role}"`).catch(() => {});
  });
  const server = new URL(adminUrl);
  server.pathname = "/postgres";
  await withTestClient(server.toString(), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    for (const role of roles) await c.query(`DROP ROLE IF EXISTS "${role}"`);
  });
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

describe("the SCRAM-SHA-256 verifier the stack gives the provider", () => {
  test("its form is PostgreSQL's; the provider's quoting leaves it as it is", () => {
    for (const password of PASSWORDS) {
      const verifier = roleVerifier(password, "migrator");
      const [, iterations, salt, storedKey, serverKey] = SCRAM_VERIFIER.exec(verifier) ?? [];
      expect(Number(iterations)).toBe(SCRAM_ITERATIONS);
      expect(Buffer.from(salt!, "base64")).toHaveLength(16);
      expect(Buffer.from(storedKey!, "base64")).toHaveLength(32);
      expect(Buffer.from(serverKey!, "base64")).toHaveLength(32);
      expect(providerQuoted(verifier)).toBe(`'${verifier}'`);
    }
  });

  test("it is the same on every run for one password and role (no diff on every preview), and differs for another role or password", () => {
    expect(roleVerifier(SPECIAL, "migrator")).toBe(roleVerifier(SPECIAL, "migrator"));
    expect(roleVerifier(SPECIAL, "migrator2")).not.toBe(roleVerifier(SPECIAL, "migrator"));
    expect(roleVerifier(`${SPECIAL}x`, "migrator")).not.toBe(roleVerifier(SPECIAL, "migrator"));
    expect(scramSalt(SPECIAL, "migrator")).not.toEqual(scramSalt(SPECIAL, "migrator2"));
    expect(() => scramSha256Verifier("", scramSalt("", "migrator"))).toThrow(/not empty/);
  });

  test("a role created with it logs in with exactly the password, and not with the provider's doubled-backslash form or a near miss", async () => {
    for (const password of PASSWORDS) {
      const role = await roleWithVerifier(password);
      // The server kept the verifier as given: it did not take it for a password and hash it.
      expect(await stored(role)).toBe(roleVerifier(password, role));
      expect(await login(role, password)).toBe(role);
      await expect(login(role, `${password}x`)).rejects.toThrow(/password authentication failed/);
      if (password.includes("\\")) await expect(login(role, password.replace(/\\/g, "\\\\"))).rejects.toThrow(/password authentication failed/);
    }
  });

  test("the server's own verifier (password_encryption = scram-sha-256, ALTER ROLE … PASSWORD) has the same form and, with its salt, the same keys", async () => {
    for (const password of PASSWORDS.filter((p) => !saslprepMayChange(p))) {
      const role = `scram_${suffix}_${roles.length}`;
      roles.push(role);
      await withTestClient(adminUrl, async (c) => {
        await c.query("SET password_encryption = 'scram-sha-256'");
        await c.query(`CREATE ROLE "${role}" LOGIN`);
        // A bound parameter cannot be a PASSWORD; E'' with both escapes gives the server the exact characters.
        await c.query(`ALTER ROLE "${role}" PASSWORD E'${password.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`);
      });
      const theirs = await stored(role);
      const [, iterations, salt] = SCRAM_VERIFIER.exec(theirs) ?? [];
      expect(Number(iterations)).toBe(SCRAM_ITERATIONS);
      expect(scramSha256Verifier(password, Buffer.from(salt!, "base64"), Number(iterations))).toBe(theirs);
      expect(await login(role, password)).toBe(role);
    }
  });

  test("SASLprep, which the server and libpq apply to a non-ASCII password and node-postgres does not, is flagged where it may change one", () => {
    expect(PASSWORDS.filter(saslprepMayChange)).toEqual([]);
    expect(saslprepMayChange("ﬁ-ligature")).toBe(true);
    expect(saslprepMayChange("soft\u00adhyphen")).toBe(true);
    expect(saslprepMayChange("no\u00a0break")).toBe(true);
    expect(saslprepMayChange("e\u0301-decomposed")).toBe(true);
  });
});

describe("the migrator with such a password, through the URL the stack builds", () => {
  test("as --database-url and as DATABASE_URL (the apply command's environment, no shell in between), it applies a file as the role", async () => {
    const role = await roleWithVerifier(SPECIAL);
    await withTestClient(adminUrl, (c) => c.query(`GRANT CONNECT, CREATE ON DATABASE "${database}" TO "${role}"; GRANT USAGE, CREATE ON SCHEMA public TO "${role}"`));
    const dir = await mkdtemp(path.join(os.tmpdir(), "scram-set-"));
    scratch.push(dir);
    await mkdir(path.join(dir, "20260101000000_first"));
    await writeFile(path.join(dir, "20260101000000_first", "migration.sql"), "CREATE TABLE scram_first (id bigint PRIMARY KEY);\n");
    await mkdir(path.join(dir, "20260101000100_second"));
    await writeFile(path.join(dir, "20260101000100_second", "migration.sql"), "CREATE TABLE scram_second (id bigint PRIMARY KEY);\n");
    const server = new URL(adminUrl);
    const url = formatConnectionUrl({ host: server.hostname, port: Number(server.port), database, user: role, password: SPECIAL, sslMode: "disable" });

    const viaFlag = await migrateProcess(["plan", "--dir", dir, "--database-url", url]);
    expect(viaFlag.code, `${viaFlag.stdout}\n${viaFlag.stderr}`).toBe(0);
    const viaEnv = await migrateProcess(["apply", "--dir", dir], { DATABASE_URL: url });
    expect(viaEnv.code, `${viaEnv.stdout}\n${viaEnv.stderr}`).toBe(0);
    for (const out of [viaFlag, viaEnv]) expect(`${out.stdout}\n${out.stderr}`).not.toContain(SPECIAL);
    const rows = await ledgerRows(adminUrl);
    expect(rows.map((r) => [r.version, r.applied_by])).toEqual([
      ["20260101000000", role],
      ["20260101000100", role],
    ]);
  });
});
