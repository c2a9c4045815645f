/**
 * The deployed shape of the dev, prod, prod-with-replicas, prod-aurora and dev-aurora stacks under
 * mocks, compared with test/fixtures/resource-snapshot/<name>.json: every resource's URN, parent,
 * protect flag, dependencies and inputs, and the outputs. A refactoring of infra/ must leave these
 * files as they are (a preview of an existing stack would otherwise show a diff or a replacement).
 *
 * A change meant to alter what is deployed rewrites them: UPDATE_RESOURCE_SNAPSHOT=1 npx vitest run
 * test/resource-snapshot.test.ts, then read the diff of the JSON before committing it.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test, vi } from "vitest";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, ROOT, runProgram } from "./support/pulumi.js";
import { resourceSnapshot } from "./support/resource-snapshot.js";

const FIXTURES = path.join(ROOT, "test/fixtures/resource-snapshot");
const UPDATE = process.env.UPDATE_RESOURCE_SNAPSHOT === "1";

const devFixtures = {
  "pg-migrations:migrationsDir": "test/fixtures/stack-basic/migrations",
  "pg-migrations:verifyDir": "test/fixtures/stack-basic/verify",
  "pg-migrations:migratorPassword": "dev-migrator-password-0123456789",
};
const prodPassword = { "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" };

const stacks: { name: string; stack: string; config: Record<string, string>; migrations: string; checks?: string[] }[] = [
  { name: "dev", stack: "dev", config: { ...readStackFile("dev").config, ...devFixtures }, migrations: devFixtures["pg-migrations:migrationsDir"] },
  {
    name: "dev-aurora",
    stack: "dev",
    config: {
      ...readStackFile("dev").config,
      ...devFixtures,
      "pg-migrations:engine": "aurora-postgresql",
      "pg-migrations:engineVersion": "16",
      "pg-migrations:serverlessMinAcu": "0.5",
      "pg-migrations:serverlessMaxAcu": "4",
      "pg-migrations:clusterReaders": "1",
    },
    migrations: devFixtures["pg-migrations:migrationsDir"],
  },
  { name: "prod", stack: "prod", config: { ...readStackFile("prod").config, ...prodPassword }, migrations: "sql/migrations", checks: ["ledger_ok", "tables_ok"] },
  {
    name: "prod-replicas",
    stack: "prod",
    config: { ...readStackFile("prod").config, ...prodPassword, "pg-migrations:readReplicas": "2" },
    migrations: "sql/migrations",
    checks: ["ledger_ok"],
  },
  {
    name: "prod-aurora",
    stack: "prod-aurora",
    config: { ...readStackFile("prod-aurora").config, ...prodPassword },
    migrations: "sql/migrations",
    checks: ["ledger_ok", "tables_ok"],
  },
];

describe("what each stack deploys is what the committed snapshot records", () => {
  for (const s of stacks) {
    test(
      s.name,
      async () => {
        vi.resetModules();
        const run = await runProgram({
          stack: s.stack,
          config: s.config,
          secretKeys: ["pg-migrations:migratorPassword"],
          onResource: reportingCommands(await cannedReport(s.migrations, s.checks)),
        });
        const actual = resourceSnapshot(run);
        expect(actual.resources.every((r) => r.urn.startsWith("urn:pulumi:"))).toBe(true);
        const file = path.join(FIXTURES, `${s.name}.json`);
        if (UPDATE) writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
        expect(existsSync(file), `${file} is missing: run with UPDATE_RESOURCE_SNAPSHOT=1 to write it`).toBe(true);
        expect(actual).toEqual(JSON.parse(readFileSync(file, "utf8")));
      },
      180_000,
    );
  }
});
