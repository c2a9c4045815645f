import { beforeAll, describe, expect, test } from "vitest";
import { expectMigrationChain, expectNoSecretLeaks, expectVerificationAfterMigrations, migrationCommands } from "./support/pulumi-assertions.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, reveal, runProgram, secretExports, type ProgramRun } from "./support/pulumi.js";

const MIGRATIONS = "test/fixtures/stack-basic/migrations";
const LOCAL_PASSWORD = "laptop-postgres-password";
const MIGRATOR_PASSWORD = "local-migrator-password-0123456789";

let run: ProgramRun;

beforeAll(async () => {
  const { config } = readStackFile("local");
  run = await runProgram({
    stack: "local",
    config: {
      ...config,
      "pg-migrations:migrationsDir": MIGRATIONS,
      "pg-migrations:verifyDir": "test/fixtures/stack-basic/verify",
      "pg-migrations:localPassword": LOCAL_PASSWORD,
      "pg-migrations:migratorPassword": MIGRATOR_PASSWORD,
    },
    secretKeys: ["pg-migrations:localPassword", "pg-migrations:migratorPassword"],
    onResource: reportingCommands(await cannedReport(MIGRATIONS)),
  });
}, 120_000);

describe("local: an existing PostgreSQL, nothing in AWS", () => {
  test("no AWS resource and no AWS call", () => {
    expect(run.resources.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws")).toEqual([]);
    expect(run.calls.filter((c) => c.token.startsWith("aws:"))).toEqual([]);
  });

  test("the roles are made through the configured server, with its password as a secret", () => {
    const provider = run.named("pulumi:providers:postgresql", "access-provider").inputs;
    expect(reveal(provider)).toMatchObject({ host: "127.0.0.1", username: "postgres", database: "app", sslmode: "disable", password: LOCAL_PASSWORD });
    expect(String(reveal(provider.port))).toBe("5432");
    expect(run.named("postgresql:index/role:Role", "access-app").inputs).toMatchObject({ login: false });
    expect(run.ofType("postgresql:index/extension:Extension")).toEqual([]);
  });

  test("the same migration chain and verification, against the configured database", async () => {
    const identity = "127.0.0.1:5432/app";
    await expectMigrationChain(run, MIGRATIONS, { identity, dependsOn: ["postgresql:index/role:Role::access-migrator"] });
    const url = new URL(reveal<Record<string, string>>(migrationCommands(run)[0]!.inputs.environment).DATABASE_URL!);
    expect(`${url.hostname}:${url.port}${url.pathname}`).toBe("127.0.0.1:5432/app");
    expect(url.searchParams.get("sslmode")).toBe("disable");
    expectVerificationAfterMigrations(run, identity);
  });

  test("outputs name the existing database and hold no secret", async () => {
    expect(run.exports.database).toEqual({
      kind: "existing PostgreSQL (not managed by this stack)",
      endpoint: { address: "127.0.0.1", port: 5432 },
      database: "app",
      tls: { sslMode: "disable", caBundle: null },
    });
    expect((run.exports.verification as { ok: boolean }).ok).toBe(true);
    expectNoSecretLeaks(run, [LOCAL_PASSWORD, MIGRATOR_PASSWORD]);
    expect(await secretExports()).toEqual([]);
  });
});
