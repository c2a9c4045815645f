/**
 * dev as an Aurora Serverless v2 cluster (Pulumi.dev.yaml plus engine keys), and what a cluster
 * whose subnets are all in one AZ does at preview.
 */
import { beforeAll, describe, expect, test, vi } from "vitest";
import { expectMigrationChain, migrationCommands } from "./support/pulumi-assertions.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { DEFAULT_SUBNETS, readStackFile, reveal, runProgram, type ProgramRun, type Registered } from "./support/pulumi.js";

const MIGRATIONS = "test/fixtures/stack-basic/migrations";
const PREFIX = "pg-migrations-dev";

const devAurora = (extra: Record<string, string> = {}) => ({
  ...readStackFile("dev").config,
  "pg-migrations:migrationsDir": MIGRATIONS,
  "pg-migrations:verifyDir": "test/fixtures/stack-basic/verify",
  "pg-migrations:migratorPassword": "dev-migrator-password-0123456789",
  "pg-migrations:engine": "aurora-postgresql",
  "pg-migrations:engineVersion": "16",
  "pg-migrations:serverlessMinAcu": "0.5",
  "pg-migrations:serverlessMaxAcu": "4",
  "pg-migrations:clusterReaders": "1",
  ...extra,
});

let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram({
    stack: "dev",
    config: devAurora(),
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(await cannedReport(MIGRATIONS)),
  });
}, 120_000);

describe("dev: an Aurora Serverless v2 cluster", () => {
  const cluster = () => run.named("aws:rds/cluster:Cluster", `${PREFIX}-cluster`);

  test("Serverless v2 capacity on the cluster, db.serverless members, the configured major's family", () => {
    expect(cluster().inputs).toMatchObject({
      engine: "aurora-postgresql",
      engineVersion: "16",
      serverlessv2ScalingConfiguration: { minCapacity: 0.5, maxCapacity: 4 },
      storageEncrypted: true,
      deletionProtection: false,
      skipFinalSnapshot: true,
      deleteAutomatedBackups: true,
      backupRetentionPeriod: 1,
      iamDatabaseAuthenticationEnabled: false,
      enabledCloudwatchLogsExports: [],
      port: 5432,
      copyTagsToSnapshot: true,
    });
    // dev has no key of its own: RDS's.
    expect(cluster().inputs.kmsKeyId).toBeUndefined();
    expect(cluster().protect).toBe(false);
    expect(run.ofType("aws:rds/clusterInstance:ClusterInstance").map((m: Registered) => m.inputs.instanceClass)).toEqual(["db.serverless", "db.serverless"]);
    expect(run.named("aws:rds/clusterParameterGroup:ClusterParameterGroup", `${PREFIX}-cluster-params`).inputs.family).toBe("aurora-postgresql16");
  });

  test("dev's extras stay off: no key, no monitoring role, no log groups, no subscriptions", () => {
    expect(run.ofType("aws:kms/key:Key")).toEqual([]);
    expect(run.ofType("aws:iam/role:Role")).toEqual([]);
    expect(run.ofType("aws:cloudwatch/logGroup:LogGroup")).toEqual([]);
    expect(run.ofType("aws:rds/eventSubscription:EventSubscription")).toEqual([]);
    for (const m of run.ofType("aws:rds/clusterInstance:ClusterInstance")) expect(m.inputs).toMatchObject({ publiclyAccessible: false, monitoringInterval: 0 });
  });

  test("the default VPC's subnets give the members their AZs", () => {
    const subnetLookups = run.calls.filter((c) => c.token === "aws:ec2/getSubnet:getSubnet").map((c) => c.inputs.id);
    expect(subnetLookups).toEqual(DEFAULT_SUBNETS);
    expect(run.ofType("aws:rds/clusterInstance:ClusterInstance").map((m) => m.inputs.availabilityZone)).toEqual(["eu-west-1b", "eu-west-1c"]);
  });

  test("the migrations go to the cluster endpoint over TLS", async () => {
    await expectMigrationChain(run, MIGRATIONS, {
      identity: "cluster-MOCKCLUSTERRESOURCEID00",
      dependsOn: [`aws:rds/cluster:Cluster::${PREFIX}-cluster`, `aws:rds/clusterInstance:ClusterInstance::${PREFIX}-member-1`],
    });
    const url = new URL(reveal<Record<string, string>>(migrationCommands(run)[0]!.inputs.environment).DATABASE_URL!);
    expect(url.hostname).toBe(`${PREFIX}.cluster-c0ffee.eu-west-1.rds.amazonaws.com`);
    expect(url.searchParams.get("sslmode")).toBe("require");
  });

  test("the output says Aurora Serverless v2 with its capacity, writer first", () => {
    const database = run.exports.database as Record<string, any>;
    expect(database).toMatchObject({ kind: "aurora", engine: "aurora-postgresql", serverless: { minAcu: 0.5, maxAcu: 4 }, multiAz: true, deletionProtection: false });
    expect(database.members.map((m: { role: string; instanceClass: string }) => [m.role, m.instanceClass])).toEqual([
      ["writer", "db.serverless"],
      ["reader", "db.serverless"],
    ]);
  });
});

describe("a multi-AZ cluster whose subnets are all in one AZ", () => {
  test("fails at preview naming subnetIds, before any AWS resource is registered", async () => {
    vi.resetModules();
    const registered: string[] = [];
    const attempt = runProgram({
      stack: "dev",
      preview: true,
      config: devAurora({ "pg-migrations:multiAz": "true" }),
      secretKeys: ["pg-migrations:migratorPassword"],
      onCall: (args) => (args.token === "aws:ec2/getSubnet:getSubnet" ? { id: args.inputs.id, availabilityZone: "eu-west-1a" } : undefined),
      onResource: async (args) => {
        registered.push(args.type);
        return undefined;
      },
    });
    await expect(attempt).rejects.toThrow(/pg-migrations:subnetIds are all in eu-west-1a, and multiAz needs the cluster's members in at least two AZs/);
    expect(registered.filter((type) => type.startsWith("aws:"))).toEqual([]);
  }, 120_000);
});
