/**
 * The `controls` output of each stack under Pulumi's mocks, from its real Pulumi.<stack>.yaml:
 * computed from what the resources report, so prod and prod-aurora meet every control but the
 * backup plan and the subnets' routes, dev (small and disposable) fails the ones it gives up,
 * and local says the controls do not apply.
 */
import { describe, expect, test, vi } from "vitest";
import type { ControlsOutput } from "../infra/controls.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, runProgram } from "./support/pulumi.js";

const MIGRATOR = { "pg-migrations:migratorPassword": "migrator-password-0123456789" };
const LOCAL = { ...MIGRATOR, "pg-migrations:localPassword": "laptop-postgres-password" };

async function controlsOf(stack: string): Promise<ControlsOutput> {
  vi.resetModules();
  const { config } = readStackFile(stack);
  const passwords = stack === "local" ? LOCAL : MIGRATOR;
  const run = await runProgram({
    stack,
    config: { ...config, ...passwords },
    secretKeys: Object.keys(passwords),
    onResource: reportingCommands(await cannedReport("sql/migrations", ["baseline_recorded"])),
  });
  return run.exports.controls as ControlsOutput;
}

const notMet = (c: ControlsOutput) => c.controls.filter((x) => x.status !== "met").map((x) => `${x.id} ${x.status}`);

describe("controls", () => {
  test("prod (an instance): all met but RDS.26 (no backup plan) and RDS.46 (depends on the subnets)", async () => {
    const c = await controlsOf("prod");
    expect(c).toMatchObject({ stack: "prod", environment: "prod", applies: true, scope: "RDS PostgreSQL instance pg-migrations-prod" });
    expect(notMet(c)).toEqual(["RDS.26 not met", "RDS.46 depends"]);
    const byId = new Map(c.controls.map((x) => [x.id, x]));
    expect(byId.get("RDS.3")!.settings).toEqual({ storageEncrypted: true, kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/pg-migrations-prod-key" });
    expect(byId.get("RDS.23")!.settings).toEqual({ port: 5433 });
    expect(byId.get("RDS.20")!.settings["eventSubscription[db-instance].eventCategories"]).toContain("failure");
  }, 120_000);

  test("prod-aurora (a cluster): the cluster's controls, all met but RDS.26 and RDS.46", async () => {
    const c = await controlsOf("prod-aurora");
    expect(c.scope).toBe("Aurora PostgreSQL cluster pg-migrations-prod-aurora");
    expect(c.controls.map((x) => x.id)).toContain("RDS.15");
    expect(notMet(c)).toEqual(["RDS.26 not met", "RDS.46 depends"]);
  }, 120_000);

  test("dev: what a disposable instance gives up shows as not met", async () => {
    const c = await controlsOf("dev");
    expect(notMet(c)).toEqual(expect.arrayContaining(["RDS.5 not met", "RDS.8 not met", "RDS.20 not met", "RDS.26 not met"]));
  }, 120_000);

  test("local: the controls do not apply to an existing server", async () => {
    const c = await controlsOf("local");
    expect(c).toMatchObject({ stack: "local", environment: "local", applies: false, controls: [] });
  }, 120_000);
});
