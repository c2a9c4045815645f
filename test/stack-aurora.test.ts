/**
 * Pulumi.prod-aurora.yaml under mocks: the prod environment as an Aurora PostgreSQL cluster.
 * Everything prod demands of the instance holds for the cluster, and the migrations and the
 * verification go to the cluster (writer) endpoint.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { COMMAND, expectMigrationChain, expectNoSecretLeaks, expectVerificationAfterMigrations, migrationCommands } from "./support/pulumi-assertions.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, reveal, runProgram, secretExports, type ProgramRun, type Registered } from "./support/pulumi.js";

const MIGRATIONS = "sql/migrations";
const MIGRATOR_PASSWORD = "prod-migrator-password-0123456789";
const MASTER_PASSWORD = "mock-master-password-0123";
const PREFIX = "pg-migrations-prod-aurora";
const WRITER_ENDPOINT = `${PREFIX}.cluster-c0ffee.eu-west-1.rds.amazonaws.com`;
const READER_ENDPOINT = `${PREFIX}.cluster-ro-c0ffee.eu-west-1.rds.amazonaws.com`;
const IDENTITY = "cluster-MOCKCLUSTERRESOURCEID00";
const keyArn = `arn:aws:kms:eu-west-1:123456789012:key/${PREFIX}-key`;

let run: ProgramRun;

beforeAll(async () => {
  const { config } = readStackFile("prod-aurora");
  run = await runProgram({
    stack: "prod-aurora",
    config: { ...config, "pg-migrations:migratorPassword": MIGRATOR_PASSWORD },
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(await cannedReport(MIGRATIONS, ["ledger_ok", "tables_ok"])),
  });
}, 180_000);

const cluster = () => run.named("aws:rds/cluster:Cluster", `${PREFIX}-cluster`);
const members = () => run.ofType("aws:rds/clusterInstance:ClusterInstance");

describe("prod-aurora: the cluster's Security Hub posture", () => {
  test("a cluster and no RDS instance", () => {
    expect(run.ofType("aws:rds/instance:Instance")).toEqual([]);
    expect(run.ofType("aws:rds/parameterGroup:ParameterGroup")).toEqual([]);
    expect(members().map((m) => m.name)).toEqual([`${PREFIX}-member-1`, `${PREFIX}-member-2`, `${PREFIX}-member-3`]);
  });

  test("every control-relevant cluster setting, explicitly", () => {
    expect(cluster().inputs).toMatchObject({
      clusterIdentifier: PREFIX,
      engine: "aurora-postgresql",
      engineMode: "provisioned",
      engineVersion: "17",
      allowMajorVersionUpgrade: false,
      autoMinorVersionUpgrade: true, // RDS.13, RDS.35
      storageEncrypted: true, // RDS.27
      kmsKeyId: keyArn,
      masterUserSecretKmsKeyId: keyArn,
      manageMasterUserPassword: true,
      masterUsername: "dbadmin", // RDS.24
      port: 5433, // RDS.23
      iamDatabaseAuthenticationEnabled: true, // RDS.12
      deletionProtection: true, // RDS.7
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${PREFIX}-final`,
      deleteAutomatedBackups: false,
      backupRetentionPeriod: 14, // RDS.11
      preferredBackupWindow: "02:00-03:00",
      preferredMaintenanceWindow: "sun:04:00-sun:05:00",
      copyTagsToSnapshot: true, // RDS.16, RDS.29
      enabledCloudwatchLogsExports: ["postgresql"], // RDS.9, RDS.36: Aurora PostgreSQL has no upgrade log
      databaseName: "app",
      vpcSecurityGroupIds: ["sg-0e0e0e0e0e0e0e0e0"],
      dbSubnetGroupName: `${PREFIX}-subnets-1a2b3c4`,
      dbClusterParameterGroupName: `${PREFIX}-cluster-params-1a2b3c4`,
      applyImmediately: false,
    });
    expect(cluster().inputs.masterPassword).toBeUndefined();
    expect(cluster().inputs.serverlessv2ScalingConfiguration).toBeUndefined();
    expect(cluster().protect).toBe(true);
    expect(run.named("aws:kms/key:Key", `${PREFIX}-key`).protect).toBe(true);
  });

  test("every member: private, monitored, Performance Insights with our key, minor upgrades, tags to snapshots", () => {
    for (const m of members()) {
      expect(m.inputs, m.name).toMatchObject({
        engine: "aurora-postgresql",
        instanceClass: "db.r7g.large",
        clusterIdentifier: `${PREFIX}-cluster-id`,
        publiclyAccessible: false, // RDS.2
        monitoringInterval: 60, // RDS.6
        autoMinorVersionUpgrade: true, // RDS.13
        copyTagsToSnapshot: true, // RDS.17
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: keyArn,
        caCertIdentifier: "rds-ca-rsa2048-g1",
        dbSubnetGroupName: `${PREFIX}-subnets-1a2b3c4`,
      });
      expect(m.inputs.monitoringRoleArn, m.name).toMatch(/role\//);
    }
  });

  test("one writer, readers after it, spread over the subnets' AZs (RDS.15)", () => {
    const [writer, ...readers] = members();
    expect(members().map((m) => [m.inputs.identifier, m.inputs.availabilityZone])).toEqual([
      [`${PREFIX}-1`, "eu-west-1a"],
      [`${PREFIX}-2`, "eu-west-1b"],
      [`${PREFIX}-3`, "eu-west-1c"],
    ]);
    for (const r of readers) expect(r.dependencies, r.name).toContain(`aws:rds/clusterInstance:ClusterInstance::${writer!.name}`);
    expect(run.calls.filter((c) => c.token === "aws:ec2/getSubnet:getSubnet").map((c) => c.inputs.id)).toEqual([
      "subnet-0a1b2c3d4e5f60718",
      "subnet-0b2c3d4e5f6071829",
      "subnet-0c3d4e5f607182930",
    ]);
  });

  test("the cluster parameter group forces TLS (RDS.38) for the engine's major", () => {
    const group = run.named("aws:rds/clusterParameterGroup:ClusterParameterGroup", `${PREFIX}-cluster-params`).inputs;
    expect(group.family).toBe("aurora-postgresql17");
    const params = Object.fromEntries((group.parameters as { name: string; value: string }[]).map((p) => [p.name, p.value]));
    expect(params).toMatchObject({ "rds.force_ssl": "1", log_min_duration_statement: "1000", shared_preload_libraries: "pg_stat_statements" });
  });

  test("the cluster's log group exists before it, with a retention and our key, which CloudWatch may use for it", () => {
    const groups = run.ofType("aws:cloudwatch/logGroup:LogGroup");
    expect(groups.map((g) => g.inputs)).toEqual([expect.objectContaining({ name: `/aws/rds/cluster/${PREFIX}/postgresql`, retentionInDays: 365, kmsKeyId: keyArn })]);
    expect(cluster().dependencies).toContain(`aws:cloudwatch/logGroup:LogGroup::${groups[0]!.name}`);
    const policy = JSON.parse(String(run.named("aws:kms/key:Key", `${PREFIX}-key`).inputs.policy)) as { Statement: { Sid: string; Condition?: unknown }[] };
    expect(policy.Statement.find((s) => s.Sid === "CloudWatchLogsEncryptsThisDatabasesLogs")!.Condition).toEqual({
      ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:eu-west-1:123456789012:log-group:/aws/rds/cluster/${PREFIX}/*` },
    });
  });

  test("event subscriptions: cluster (RDS.19), members (RDS.20), parameter groups (RDS.21), security groups (RDS.22)", () => {
    expect(run.named("aws:sns/topic:Topic", `${PREFIX}-events`).inputs).toMatchObject({ kmsMasterKeyId: keyArn });
    const subs = Object.fromEntries(run.ofType("aws:rds/eventSubscription:EventSubscription").map((s) => [s.inputs.sourceType, s.inputs]));
    expect(Object.keys(subs).sort()).toEqual(["db-cluster", "db-instance", "db-parameter-group", "db-security-group"]);
    expect(subs["db-cluster"]!.eventCategories).toEqual(expect.arrayContaining(["failure", "maintenance"]));
    expect(subs["db-cluster"]!.sourceIds).toEqual([PREFIX]);
    expect(subs["db-instance"]!.sourceIds).toEqual([`${PREFIX}-1`, `${PREFIX}-2`, `${PREFIX}-3`]);
    expect(subs["db-instance"]!.eventCategories).toEqual(expect.arrayContaining(["failure", "maintenance", "configuration change"]));
    expect(subs["db-parameter-group"]!.eventCategories).toEqual(expect.arrayContaining(["maintenance", "configuration change"]));
    for (const s of run.ofType("aws:rds/eventSubscription:EventSubscription")) expect(s.inputs.snsTopic).toBe(`arn:aws:sns:eu-west-1:123456789012:${PREFIX}-events`);
  });

  test("tags on everything that takes them (RDS.28, RDS.30)", () => {
    const taggable = run.resources.filter((r: Registered) => r.type.startsWith("aws:") && !/RolePolicyAttachment|kms\/alias|TopicPolicy/.test(r.type));
    for (const r of taggable) {
      expect(r.inputs.tags, `${r.type}::${r.name}`).toMatchObject({
        environment: "prod",
        stack: "prod-aurora",
        "managed-by": "pulumi",
        "data-classification": "confidential",
      });
    }
  });
});

describe("prod-aurora: migrations and verification go to the writer", () => {
  test("the roles provider and every command connect to the cluster endpoint, never the reader endpoint", () => {
    const provider = reveal<Record<string, unknown>>(run.named("pulumi:providers:postgresql", "access-provider").inputs);
    expect(provider).toMatchObject({ host: WRITER_ENDPOINT, username: "dbadmin", password: MASTER_PASSWORD, sslmode: "verify-full" });
    expect(run.calls.find((c) => c.token === "aws:secretsmanager/getSecretVersion:getSecretVersion")?.inputs).toMatchObject({
      secretId: expect.stringContaining(`:secret:rds!cluster-${PREFIX}`),
    });
    for (const c of run.ofType(COMMAND)) {
      const url = reveal<Record<string, string>>(c.inputs.environment).DATABASE_URL;
      if (url === undefined) continue;
      expect(new URL(url).hostname, c.name).toBe(WRITER_ENDPOINT);
      expect(new URL(url).port, c.name).toBe("5433");
      expect(url, c.name).not.toContain("cluster-ro");
    }
  });

  test("the migration command waits for the cluster and its writer; the cluster's resource id is its trigger", async () => {
    await expectMigrationChain(run, MIGRATIONS, {
      identity: IDENTITY,
      dependsOn: [
        `aws:rds/cluster:Cluster::${PREFIX}-cluster`,
        `aws:rds/clusterInstance:ClusterInstance::${PREFIX}-member-1`,
        "postgresql:index/role:Role::access-migrator",
      ],
    });
    expect(migrationCommands(run)[0]!.dependencies).not.toContain(`aws:rds/clusterInstance:ClusterInstance::${PREFIX}-member-2`);
  });

  test("the verification runs after the migrations, and the prod gate after it", () => {
    const report = expectVerificationAfterMigrations(run, IDENTITY);
    expect(run.named(COMMAND, "verification-gate").dependencies).toContain(`${COMMAND}::${report.name}`);
  });

  test("the application and auditor log in with IAM on the cluster", () => {
    for (const name of ["access-app", "access-auditor"]) {
      expect(run.named("postgresql:index/role:Role", name).inputs).toMatchObject({ login: true, roles: ["rds_iam"] });
    }
  });
});

describe("prod-aurora: the database output", () => {
  test("says it is Aurora, gives writer and reader endpoints and the posture of every member", () => {
    const database = run.exports.database as Record<string, any>;
    expect(database).toMatchObject({
      kind: "aurora",
      engine: "aurora-postgresql",
      identifier: PREFIX,
      endpoint: { address: WRITER_ENDPOINT, port: 5433 },
      readerEndpoint: { address: READER_ENDPOINT, port: 5433 },
      serverless: null,
      storage: { encrypted: true, kmsKeyArn: keyArn },
      backups: { retentionDays: 14, finalSnapshot: true, copyTagsToSnapshot: true },
      deletionProtection: true,
      multiAz: true,
      availabilityZones: ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
      publiclyAccessible: false,
      tlsEnforced: true,
      iamAuthentication: true,
      logExports: ["postgresql"],
      autoMinorVersionUpgrade: true,
      masterUser: { username: "dbadmin", password: "managed by RDS in Secrets Manager" },
    });
    expect(database.members.map((m: { identifier: string; role: string; availabilityZone: string }) => [m.identifier, m.role, m.availabilityZone])).toEqual([
      [`${PREFIX}-1`, "writer", "eu-west-1a"],
      [`${PREFIX}-2`, "reader", "eu-west-1b"],
      [`${PREFIX}-3`, "reader", "eu-west-1c"],
    ]);
    for (const m of database.members) {
      expect(m).toMatchObject({
        publiclyAccessible: false,
        storageEncrypted: true,
        performanceInsights: true,
        enhancedMonitoringSeconds: 60,
        autoMinorVersionUpgrade: true,
      });
    }
  });

  test("no secret in any output or command line", async () => {
    expectNoSecretLeaks(run, [MIGRATOR_PASSWORD, MASTER_PASSWORD]);
    expect(await secretExports()).toEqual([]);
  });
});
