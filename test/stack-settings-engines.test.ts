/** The engine keys: instance or Aurora cluster, replicas and readers, Serverless v2, the PostgreSQL version. */
import { describe, expect, test } from "vitest";
import { parseStackSettings, PROD_RULES, StackConfigError, type AwsStackSettings, type RawConfig } from "../stacks/index.js";
import { readStackFile } from "./support/pulumi.js";

const ctx = (stack: string) => ({ project: "pg-migrations", stack });
const PASSWORD = "a-migrator-password-long-enough";

const config = (stack: string, extra: Record<string, string> = {}): RawConfig => ({
  ...readStackFile(stack).config,
  "pg-migrations:migratorPassword": PASSWORD,
  ...extra,
});
const aws = (raw: RawConfig, stack: string) => parseStackSettings(raw, ctx(stack)) as AwsStackSettings;

function problemsOf(raw: RawConfig, stack: string): { key: string; message: string }[] {
  try {
    parseStackSettings(raw, ctx(stack));
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems;
  }
  throw new Error("expected the configuration to be rejected");
}
const keysOf = (problems: { key: string }[]) => problems.map((p) => p.key.replace("pg-migrations:", ""));

describe("Pulumi.prod-aurora.yaml", () => {
  test("validates as a prod Aurora cluster with prod's defaults for Aurora", () => {
    const s = aws(config("prod-aurora"), "prod-aurora");
    expect(s.environment).toBe("prod");
    expect(s.rds).toMatchObject({
      engine: "aurora-postgresql",
      engineVersion: "17",
      engineMajor: 17,
      clusterReaders: 2,
      readReplicas: 0,
      serverless: undefined,
      instanceClass: "db.r7g.large",
      logExports: ["postgresql"],
      multiAz: true,
      deletionProtection: true,
      iamAuthentication: true,
      port: 5433,
      ownKmsKey: true,
      eventSubscriptions: true,
    });
    for (const rule of PROD_RULES) expect(rule.holds(s), rule.key).toBe(true);
    expect(Object.keys(readStackFile("prod-aurora").config).filter((k) => /password/i.test(k))).toEqual([]);
  });

  test("Pulumi.prod.yaml stays an instance, on PostgreSQL 17, without replicas", () => {
    expect(aws(config("prod"), "prod").rds).toMatchObject({ engine: "postgres", engineVersion: "17", engineMajor: 17, readReplicas: 0, clusterReaders: 0 });
  });
});

describe("defaults that follow the engine", () => {
  test("an Aurora cluster without instanceClass or logExports gets Aurora's; Serverless v2 gets db.serverless", () => {
    const dev = aws(config("dev", { "pg-migrations:engine": "aurora-postgresql" }), "dev");
    expect(dev.rds).toMatchObject({ instanceClass: "db.t4g.medium", clusterReaders: 0, logExports: [] });
    const serverless = aws(
      config("dev", { "pg-migrations:engine": "aurora-postgresql", "pg-migrations:serverlessMinAcu": "0.5", "pg-migrations:serverlessMaxAcu": "8" }),
      "dev",
    );
    expect(serverless.rds).toMatchObject({ instanceClass: "db.serverless", serverless: { minAcu: 0.5, maxAcu: 8 } });
    const raw = { ...config("prod", { "pg-migrations:engine": "aurora-postgresql" }) } as Record<string, string>;
    for (const key of ["instanceClass", "allocatedStorageGb", "maxAllocatedStorageGb"]) delete raw[`pg-migrations:${key}`];
    expect(aws(raw, "prod").rds).toMatchObject({ instanceClass: "db.r7g.large", clusterReaders: 1, logExports: ["postgresql"] });
  });

  test("an instance takes read replicas", () => {
    expect(aws(config("prod", { "pg-migrations:readReplicas": "3" }), "prod").rds.readReplicas).toBe(3);
  });
});

describe("engine problems, reported together with the key and what to set", () => {
  const prodAurora = (extra: Record<string, string>) => problemsOf(config("prod-aurora", extra), "prod-aurora");

  test("a prod cluster with zero readers: not multi-AZ (RDS.15)", () => {
    expect(prodAurora({ "pg-migrations:clusterReaders": "0" })).toEqual([
      { key: "pg-migrations:clusterReaders", message: "not allowed in prod (Security Hub RDS.15); allowed: 1 to 15 with aurora-postgresql" },
    ]);
  });

  test("a dev cluster that asks for multiAz needs a reader", () => {
    const problems = problemsOf(config("dev", { "pg-migrations:engine": "aurora-postgresql", "pg-migrations:multiAz": "true" }), "dev");
    expect(problems).toEqual([{ key: "pg-migrations:clusterReaders", message: expect.stringMatching(/is 0, and multiAz is true.*allowed: 1 to 15/) }]);
    expect(
      aws(config("dev", { "pg-migrations:engine": "aurora-postgresql", "pg-migrations:multiAz": "true", "pg-migrations:clusterReaders": "1" }), "dev").rds.multiAz,
    ).toBe(true);
  });

  test("more readers or replicas than AWS allows (15)", () => {
    expect(prodAurora({ "pg-migrations:clusterReaders": "16" })).toEqual([
      { key: "pg-migrations:clusterReaders", message: expect.stringContaining("allowed: 0 to 15 (Aurora's limit of replicas per cluster)") },
    ]);
    expect(problemsOf(config("prod", { "pg-migrations:readReplicas": "16" }), "prod")).toEqual([
      { key: "pg-migrations:readReplicas", message: expect.stringContaining("allowed: 0 to 15") },
    ]);
  });

  test("instance classes the engine does not take", () => {
    expect(prodAurora({ "pg-migrations:instanceClass": "db.m7g.large" })).toEqual([
      { key: "pg-migrations:instanceClass", message: expect.stringMatching(/"db.m7g.large" is not a class Aurora PostgreSQL runs on; allowed: db.r\*/) },
    ]);
    expect(keysOf(prodAurora({ "pg-migrations:instanceClass": "db.t4g.micro" }))).toEqual(["instanceClass"]);
    expect(keysOf(prodAurora({ "pg-migrations:instanceClass": "db.serverless" }))).toEqual(["instanceClass"]);
    expect(prodAurora({ "pg-migrations:instanceClass": "db.serverless" })[0]!.message).toMatch(/needs serverlessMinAcu and serverlessMaxAcu/);
    expect(problemsOf(config("prod", { "pg-migrations:instanceClass": "db.serverless" }), "prod")).toEqual([
      { key: "pg-migrations:instanceClass", message: expect.stringMatching(/Aurora Serverless v2 class; allowed for an RDS PostgreSQL instance/) },
    ]);
    // Serverless v2 members are db.serverless and nothing else.
    expect(prodAurora({ "pg-migrations:serverlessMinAcu": "1", "pg-migrations:serverlessMaxAcu": "16" })).toEqual([
      { key: "pg-migrations:instanceClass", message: expect.stringMatching(/"db.r7g.large" is a provisioned class.*allowed: db.serverless/) },
    ]);
    expect(aws(config("prod-aurora", { "pg-migrations:instanceClass": "db.t4g.medium" }), "prod-aurora").rds.instanceClass).toBe("db.t4g.medium");
    expect(aws(config("prod-aurora", { "pg-migrations:instanceClass": "db.x2g.large" }), "prod-aurora").rds.instanceClass).toBe("db.x2g.large");
  });

  test("Serverless v2 capacity: both keys, half steps, min not above max", () => {
    const serverless = (extra: Record<string, string>) => prodAurora({ "pg-migrations:instanceClass": "db.serverless", ...extra });
    expect(serverless({ "pg-migrations:serverlessMinAcu": "1" })).toEqual([
      { key: "pg-migrations:serverlessMaxAcu", message: expect.stringContaining("required with serverlessMinAcu") },
    ]);
    expect(serverless({ "pg-migrations:serverlessMinAcu": "0.3", "pg-migrations:serverlessMaxAcu": "300" })).toEqual([
      { key: "pg-migrations:serverlessMinAcu", message: expect.stringContaining("allowed: 0.5 to 256 ACUs in steps of 0.5") },
      { key: "pg-migrations:serverlessMaxAcu", message: expect.stringContaining("allowed: 1 to 256 ACUs in steps of 0.5") },
    ]);
    expect(serverless({ "pg-migrations:serverlessMinAcu": "8", "pg-migrations:serverlessMaxAcu": "4" })).toEqual([
      { key: "pg-migrations:serverlessMaxAcu", message: "4 is below serverlessMinAcu (8); allowed: 8 to 256" },
    ]);
    const ok = aws(
      config("prod-aurora", { "pg-migrations:instanceClass": "db.serverless", "pg-migrations:serverlessMinAcu": "2.5", "pg-migrations:serverlessMaxAcu": "64" }),
      "prod-aurora",
    );
    expect(ok.rds.serverless).toEqual({ minAcu: 2.5, maxAcu: 64 });
  });

  test("keys of the other engine are refused, not ignored", () => {
    expect(prodAurora({ "pg-migrations:allocatedStorageGb": "100", "pg-migrations:readReplicas": "1" })).toEqual([
      { key: "pg-migrations:allocatedStorageGb", message: expect.stringContaining("applies to engine postgres only, and this stack's engine is aurora-postgresql") },
      { key: "pg-migrations:readReplicas", message: expect.stringContaining("applies to engine postgres only") },
    ]);
    expect(keysOf(problemsOf(config("prod", { "pg-migrations:clusterReaders": "2", "pg-migrations:serverlessMaxAcu": "4" }), "prod"))).toEqual([
      "clusterReaders",
      "serverlessMaxAcu",
    ]);
  });

  test("Aurora PostgreSQL has no upgrade log", () => {
    expect(prodAurora({ "pg-migrations:logExports": JSON.stringify(["postgresql", "upgrade"]) })).toEqual([
      {
        key: "pg-migrations:logExports",
        message: expect.stringMatching(/"upgrade" is not a log type aurora-postgresql publishes; allowed: a list of postgresql, iam-db-auth-error/),
      },
    ]);
    // In prod the instance still needs both.
    expect(problemsOf(config("prod", { "pg-migrations:logExports": JSON.stringify(["postgresql"]) }), "prod")).toEqual([
      { key: "pg-migrations:logExports", message: expect.stringContaining("not allowed in prod (Security Hub RDS.9 and RDS.36)") },
    ]);
  });

  test("an unknown engine names the accepted ones", () => {
    expect(problemsOf(config("dev", { "pg-migrations:engine": "aurora-mysql" }), "dev")).toEqual([
      { key: "pg-migrations:engine", message: '"aurora-mysql" is not allowed; allowed: postgres, aurora-postgresql' },
    ]);
  });

  test("many problems at once", () => {
    const problems = prodAurora({
      "pg-migrations:clusterReaders": "0",
      "pg-migrations:instanceClass": "db.m7g.large",
      "pg-migrations:engineVersion": "12",
      "pg-migrations:maxAllocatedStorageGb": "500",
    });
    expect(keysOf(problems).sort()).toEqual(["clusterReaders", "engineVersion", "instanceClass", "maxAllocatedStorageGb"]);
  });
});

describe("engineVersion: PostgreSQL 13 to 17 for either engine", () => {
  test.each([
    ["postgres", "13", 13],
    ["postgres", "16.4", 16],
    ["aurora-postgresql", "14", 14],
    ["aurora-postgresql", "15.10", 15],
    ["postgres", "17", 17],
  ])("%s %s", (engine, version, major) => {
    const s = aws(config("dev", { "pg-migrations:engine": engine, "pg-migrations:engineVersion": version }), "dev");
    expect(s.rds.engineVersion).toBe(version);
    expect(s.rds.engineMajor).toBe(major);
  });

  test.each(["12", "18", "9.6", "17.x", "latest", "v16"])("%s is refused, naming the key and the accepted values", (version) => {
    expect(problemsOf(config("dev", { "pg-migrations:engineVersion": version }), "dev")).toEqual([
      {
        key: "pg-migrations:engineVersion",
        message: `"${version}" is not a PostgreSQL version RDS and Aurora offer here; allowed: a major 13, 14, 15, 16, 17 (its latest minor) or <major>.<minor> such as 16.4`,
      },
    ]);
  });

  test("defaults to 17", () => {
    expect(aws(config("dev"), "dev").rds).toMatchObject({ engineVersion: "17", engineMajor: 17 });
  });
});
