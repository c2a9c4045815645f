/**
 * The dev stack end to end, without AWS: its RDS instance is an embedded PostgreSQL 17 that
 * accepts TLS only, and its commands and role resources really run (support/pulumi-e2e.ts),
 * over several `pulumi up`s: first deploy, a no-op re-run, a new file, an edited applied file,
 * a removed file, and a replaced database.
 */
import { describe, expect, test } from "vitest";
import { devStackE2E, E2E_MIGRATOR_PASSWORD as MIGRATOR_PASSWORD } from "./support/dev-stack-e2e.js";
import { allStrings, type ProgramRun } from "./support/pulumi.js";

const V = { init: "20260101000000", badges: "20260101000100", index: "20260101000200", bio: "20260101000300" };

const e2e = devStackE2E({ resourceId: "db-E2EFIRSTINSTANCE" });
const { sql, up, ran } = e2e;

describe("dev end to end", () => {
  let first: ProgramRun;

  test("first up: roles, then one command applies each file in order in its own transaction mode, then the verification", async () => {
    first = await up();
    expect(ran()).toEqual(["migration-apply", "verification-report"]);
    expect(e2e.emulator.executed.every((c) => c.exitCode === 0)).toBe(true);

    // The provider was pointed at the instance, as its master user, over TLS (provider inputs travel as strings).
    expect(e2e.emulator.providers[0]).toMatchObject({
      host: "localhost",
      port: String(e2e.server.port),
      username: "dbadmin",
      password: e2e.server.master.password,
      sslmode: "require",
    });

    const ledger = await sql<{ version: string; transactional: boolean; applied_by: string; status: string }>(
      "SELECT version, transactional, applied_by, status FROM migrator.applied_migrations ORDER BY version",
    );
    expect(ledger).toEqual([
      { version: V.init, transactional: true, applied_by: "migrator", status: "applied" },
      { version: V.badges, transactional: true, applied_by: "migrator", status: "applied" },
      { version: V.index, transactional: false, applied_by: "migrator", status: "applied" },
    ]);
    const [index] = await sql<{ indisvalid: boolean }>(`SELECT indisvalid FROM pg_index WHERE indexrelid = '"PointTransaction_memberId_idx"'::regclass`);
    expect(index?.indisvalid).toBe(true);
  }, 180_000);

  test("the roles: the migrator owns the tables; the app may not change the ledger; the auditor only reads", async () => {
    const owners = await sql<{ relname: string; owner: string }>(
      `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
    );
    expect(owners).toEqual([
      { relname: "Badge", owner: "migrator" },
      { relname: "Member", owner: "migrator" },
      { relname: "PointTransaction", owner: "migrator" },
    ]);
    const privileges = await sql<Record<string, boolean>>(`SELECT
        has_table_privilege('app', 'public."PointTransaction"', 'INSERT') AS app_ledger_insert,
        has_table_privilege('app', 'public."PointTransaction"', 'SELECT') AS app_ledger_select,
        has_table_privilege('app', 'public."PointTransaction"', 'UPDATE') AS app_ledger_update,
        has_table_privilege('app', 'public."PointTransaction"', 'DELETE') AS app_ledger_delete,
        has_table_privilege('app', 'public."Badge"', 'UPDATE') AS app_later_table_update,
        has_table_privilege('auditor', 'public."Badge"', 'SELECT') AS auditor_later_table_select,
        has_table_privilege('auditor', 'public."Member"', 'INSERT') AS auditor_insert,
        has_table_privilege('auditor', 'migrator.applied_migrations', 'SELECT') AS auditor_ledger_select`);
    expect(privileges[0]).toEqual({
      app_ledger_insert: true,
      app_ledger_select: true,
      app_ledger_update: false,
      app_ledger_delete: false,
      app_later_table_update: true,
      auditor_later_table_select: true,
      auditor_insert: false,
      auditor_ledger_select: true,
    });
    // And for real, as the application would try it.
    const client = await e2e.server.connect(e2e.database);
    try {
      await client.query("SET ROLE app");
      await client.query(`INSERT INTO "Member" ("id", "name") VALUES ('m1', 'Ada')`);
      await client.query(`INSERT INTO "PointTransaction" ("id", "memberId", "points") VALUES ('p1', 'm1', 5)`);
      await expect(client.query(`UPDATE "PointTransaction" SET "points" = 500`)).rejects.toMatchObject({ code: "42501" });
    } finally {
      await client.end();
    }
  });

  test("the outputs come from the verification command's stdout; nothing secret anywhere", () => {
    const { migrations, verification, database: posture } = first.exports as Record<string, any>;
    expect(migrations.applied.map((a: { version: string; transaction: string; status: string }) => [a.version, a.transaction, a.status])).toEqual([
      [V.init, "transaction", "applied"],
      [V.badges, "transaction", "applied"],
      [V.index, "no-transaction", "applied"],
    ]);
    expect(migrations.applied[0]).toMatchObject({ checksum: expect.stringMatching(/^[0-9a-f]{64}$/), appliedAt: expect.any(String), appliedBy: "migrator" });
    expect(migrations.pending).toEqual([]);
    expect(migrations.database).toBe(`migrator@localhost:${e2e.server.port}/app`);
    expect(verification).toMatchObject({ ok: true, passed: 3, failed: 0 });
    expect(verification.checks.map((c: { name: string }) => c.name)).toEqual(["fixture_tables", "fixture_ledger", "fixture_index_valid"]);
    expect(verification.server).toMatchObject({ connectionEncrypted: true, tlsVersion: expect.stringMatching(/^TLSv1\.[23]$/) });
    expect(posture).toMatchObject({ endpoint: { address: "localhost", port: e2e.server.port }, tlsEnforced: true, storage: { encrypted: true } });

    const secrets = [MIGRATOR_PASSWORD, e2e.server.master.password, e2e.server.superuser.password];
    for (const s of secrets) {
      expect(allStrings(first.exports).some((v) => v.includes(s))).toBe(false);
      for (const c of e2e.emulator.executed) expect(`${c.stdout}\n${c.stderr}`).not.toContain(s);
    }
  });

  test("up again with nothing changed runs nothing", async () => {
    await up();
    expect(ran()).toEqual([]);
    expect(e2e.emulator.applied).toEqual([]);
  }, 120_000);

  test("a new file: the apply command runs again and applies only it, then the verification", async () => {
    await e2e.set.write(`migrations/${V.bio}_member_bio/migration.sql`, `-- A nullable column: no rewrite, no long lock.\nALTER TABLE "Member" ADD COLUMN "bio" TEXT;\n`);
    const run = await up();
    expect(ran()).toEqual(["migration-apply", "verification-report"]);
    expect(e2e.emulator.executed[0]!.stdout).toMatch(new RegExp(`${V.bio}_member_bio`));
    expect(e2e.emulator.executed[0]!.stdout).not.toMatch(new RegExp(`applied\\s+${V.init}`));
    expect((run.exports.migrations as { applied: unknown[] }).applied).toHaveLength(4);
  }, 120_000);

  test("an applied file that was edited: up refuses with the migrator's message, and nothing after it runs", async () => {
    const file = `migrations/${V.badges}_badges/migration.sql`;
    const original = await import("node:fs/promises").then((fs) => fs.readFile(`${e2e.set.dir}/${file}`, "utf8"));
    await e2e.set.write(file, `${original}\nALTER TABLE "Badge" ADD COLUMN "color" TEXT;\n`);
    try {
      await expect(up()).rejects.toThrow(/was edited after it was applied.*write a new migration/s);
      expect(ran()).toEqual(["migration-apply"]);
      expect(e2e.emulator.executed[0]!.exitCode).toBe(1);
      expect(await sql(`SELECT 1 FROM information_schema.columns WHERE table_name = 'Badge' AND column_name = 'color'`)).toEqual([]);
    } finally {
      await e2e.set.write(file, original);
    }
  }, 120_000);

  test("a removed file: up refuses naming it, nothing runs against the database; allowRemovedMigrations accepts it", async () => {
    await e2e.set.remove(`migrations/${V.bio}_member_bio`);
    await expect(up()).rejects.toThrow(new RegExp(`${V.bio}[\\s\\S]*no such migration is in the set`));
    expect(ran()).toEqual(["migration-apply"]);
    expect(await sql(`SELECT count(*)::int AS n FROM migrator.applied_migrations`)).toEqual([{ n: 4 }]);

    const run = await up({ "pg-migrations:allowRemovedMigrations": "true" });
    expect(ran()).toEqual(["migration-apply", "verification-report"]);
    const migrations = run.exports.migrations as { applied: { version: string }[]; problems: { file: string; message: string }[] };
    expect(migrations.applied.map((a) => a.version)).toContain(V.bio);
    expect(await sql(`SELECT count(*)::int AS n FROM migrator.applied_migrations`)).toEqual([{ n: 4 }]);
  }, 120_000);

  test("a replaced database gets the whole set again", async () => {
    e2e.database = "app_replaced";
    await e2e.server.createDatabase(e2e.database);
    e2e.emulator.binding.resourceId = "db-E2ESECONDINSTANCE";
    const run = await up();
    expect(ran()).toEqual(["migration-apply", "verification-report"]);
    expect(await sql(`SELECT count(*)::int AS n FROM migrator.applied_migrations`)).toEqual([{ n: 3 }]);
    expect(run.exports.verification).toMatchObject({ ok: true, passed: 3 });
  }, 180_000);
});
