import { beforeAll, describe, expect, test } from "vitest";
import { COMMAND, expectMigrationChain, expectNoSecretLeaks, expectVerificationAfterMigrations, migrationCommands } from "./support/pulumi-assertions.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, reveal, runProgram, secretExports, type ProgramRun, type Registered } from "./support/pulumi.js";

// prod runs the real set: the stack file names no other, and lint must pass on it in prod.
const MIGRATIONS = "sql/migrations";
const MIGRATOR_PASSWORD = "prod-migrator-password-0123456789";
const MASTER_PASSWORD = "mock-master-password-0123";
const PREFIX = "pg-migrations-prod";

let run: ProgramRun;

beforeAll(async () => {
  const { config } = readStackFile("prod");
  run = await runProgram({
    stack: "prod",
    config: { ...config, "pg-migrations:migratorPassword": MIGRATOR_PASSWORD },
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(await cannedReport(MIGRATIONS, ["ledger_ok", "tables_ok"])),
  });
}, 180_000);

const instance = () => run.named("aws:rds/instance:Instance", `${PREFIX}-instance`);
const keyArn = `arn:aws:kms:eu-west-1:123456789012:key/${PREFIX}-key`;

describe("prod: the Security Hub posture of the instance", () => {
  test("encrypted with a KMS key of its own, also for the master secret and Performance Insights", () => {
    const key = run.named("aws:kms/key:Key", `${PREFIX}-key`);
    expect(key.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
    expect(key.protect).toBe(true);
    const policy = JSON.parse(String(key.inputs.policy)) as { Statement: { Sid: string; Principal: Record<string, string> }[] };
    expect(policy.Statement.map((s) => s.Principal)).toEqual([
      { AWS: "arn:aws:iam::123456789012:root" },
      { Service: "logs.eu-west-1.amazonaws.com" },
      { Service: "events.rds.amazonaws.com" },
    ]);
    expect(run.named("aws:kms/alias:Alias", `${PREFIX}-key-alias`).inputs).toMatchObject({ name: `alias/${PREFIX}` });
    expect(instance().inputs).toMatchObject({
      storageEncrypted: true,
      kmsKeyId: keyArn,
      masterUserSecretKmsKeyId: keyArn,
      performanceInsightsKmsKeyId: keyArn,
    });
  });

  test("every control-relevant setting, explicitly", () => {
    expect(instance().inputs).toMatchObject({
      engine: "postgres",
      engineVersion: "17",
      storageType: "gp3",
      allocatedStorage: 100,
      maxAllocatedStorage: 1000, // storage autoscaling
      publiclyAccessible: false, // RDS.2
      multiAz: true, // RDS.5
      monitoringInterval: 60, // RDS.6
      deletionProtection: true, // RDS.8
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"], // RDS.9, RDS.36
      iamDatabaseAuthenticationEnabled: true, // RDS.10
      backupRetentionPeriod: 14, // RDS.11
      autoMinorVersionUpgrade: true, // RDS.13
      copyTagsToSnapshot: true, // RDS.17
      port: 5433, // RDS.23
      username: "dbadmin", // RDS.25
      manageMasterUserPassword: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${PREFIX}-final`,
      deleteAutomatedBackups: false,
      performanceInsightsEnabled: true,
      performanceInsightsRetentionPeriod: 7,
      applyImmediately: false,
      backupWindow: "02:00-03:00",
      maintenanceWindow: "sun:04:00-sun:05:00",
      allowMajorVersionUpgrade: false,
      caCertIdentifier: "rds-ca-rsa2048-g1",
    });
    expect(instance().inputs.password).toBeUndefined();
    expect(instance().inputs.monitoringRoleArn).toMatch(/role\//);
    expect(instance().protect).toBe(true);
  });

  test("enhanced monitoring has its role; log groups exist first, with a retention and our key", () => {
    const role = run.named("aws:iam/role:Role", `${PREFIX}-monitoring`);
    expect(JSON.parse(String(role.inputs.assumeRolePolicy)).Statement[0].Principal).toEqual({ Service: "monitoring.rds.amazonaws.com" });
    expect(run.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", `${PREFIX}-monitoring-policy`).inputs.policyArn).toBe(
      "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    );
    const groups = run.ofType("aws:cloudwatch/logGroup:LogGroup");
    expect(groups.map((g) => g.inputs)).toEqual([
      expect.objectContaining({ name: `/aws/rds/instance/${PREFIX}/postgresql`, retentionInDays: 365, kmsKeyId: keyArn }),
      expect.objectContaining({ name: `/aws/rds/instance/${PREFIX}/upgrade`, retentionInDays: 365, kmsKeyId: keyArn }),
    ]);
    for (const g of groups) expect(instance().dependencies).toContain(`aws:cloudwatch/logGroup:LogGroup::${g.name}`);
  });

  test("event subscriptions for instance, parameter group and security group events, to an encrypted topic (RDS.20-22)", () => {
    expect(run.named("aws:sns/topic:Topic", `${PREFIX}-events`).inputs).toMatchObject({ kmsMasterKeyId: keyArn });
    const subs = Object.fromEntries(run.ofType("aws:rds/eventSubscription:EventSubscription").map((s) => [s.inputs.sourceType, s.inputs]));
    expect(Object.keys(subs).sort()).toEqual(["db-instance", "db-parameter-group", "db-security-group"]);
    expect(subs["db-instance"]!.eventCategories).toEqual(expect.arrayContaining(["failure", "maintenance", "configuration change"]));
    expect(subs["db-instance"]!.sourceIds).toEqual([PREFIX]);
    expect(subs["db-parameter-group"]!.eventCategories).toEqual(expect.arrayContaining(["maintenance", "configuration change"]));
    expect(subs["db-security-group"]!.eventCategories).toEqual(expect.arrayContaining(["failure", "configuration change"]));
  });

  test("the parameter group forces TLS and logs statements over a second", () => {
    const params = Object.fromEntries(
      (run.named("aws:rds/parameterGroup:ParameterGroup", `${PREFIX}-params`).inputs.parameters as { name: string; value: string }[]).map((p) => [p.name, p.value]),
    );
    expect(params).toMatchObject({ "rds.force_ssl": "1", log_min_duration_statement: "1000", shared_preload_libraries: "pg_stat_statements" });
  });

  test("the network: configured subnets, the port open to the configured security groups only", () => {
    expect(run.calls.find((c) => c.token === "aws:ec2/getVpc:getVpc")).toBeUndefined();
    expect(run.named("aws:rds/subnetGroup:SubnetGroup", `${PREFIX}-subnets`).inputs.subnetIds).toEqual([
      "subnet-0a1b2c3d4e5f60718",
      "subnet-0b2c3d4e5f6071829",
      "subnet-0c3d4e5f607182930",
    ]);
    expect(run.named("aws:ec2/securityGroup:SecurityGroup", `${PREFIX}-sg`).inputs.vpcId).toBe("vpc-0a1b2c3d4e5f60718");
    const rules = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
    expect(rules).toEqual([
      expect.objectContaining({ fromPort: 5433, toPort: 5433, ipProtocol: "tcp", referencedSecurityGroupId: "sg-0a1b2c3d4e5f60718" }),
      expect.objectContaining({ fromPort: 5433, toPort: 5433, ipProtocol: "tcp", referencedSecurityGroupId: "sg-0b2c3d4e5f6071829" }),
    ]);
    expect(rules.some((r) => "cidrIpv4" in r)).toBe(false);
  });

  test("tags on everything that takes them", () => {
    const taggable = run.resources.filter((r: Registered) => r.type.startsWith("aws:") && !/RolePolicyAttachment|kms\/alias|TopicPolicy/.test(r.type));
    for (const r of taggable) {
      expect(r.inputs.tags, `${r.type}::${r.name}`).toMatchObject({ environment: "prod", stack: "prod", "managed-by": "pulumi", "data-classification": "confidential" });
    }
  });
});

describe("prod: an existing instance stack previews with no replacement", () => {
  test("the AWS resources, their names and the components they sit in are the ones deployed before clusters and replicas existed", () => {
    expect(
      run.resources
        .filter((r) => r.type.startsWith("aws:"))
        .map((r) => `${r.type}::${r.name}`)
        .sort(),
    ).toEqual(
      [
        "aws:cloudwatch/logGroup:LogGroup::pg-migrations-prod-log-postgresql",
        "aws:cloudwatch/logGroup:LogGroup::pg-migrations-prod-log-upgrade",
        "aws:ec2/securityGroup:SecurityGroup::pg-migrations-prod-sg",
        "aws:iam/role:Role::pg-migrations-prod-monitoring",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment::pg-migrations-prod-monitoring-policy",
        "aws:kms/alias:Alias::pg-migrations-prod-key-alias",
        "aws:kms/key:Key::pg-migrations-prod-key",
        "aws:rds/eventSubscription:EventSubscription::pg-migrations-prod-instance-events",
        "aws:rds/eventSubscription:EventSubscription::pg-migrations-prod-parameter-group-events",
        "aws:rds/eventSubscription:EventSubscription::pg-migrations-prod-security-group-events",
        "aws:rds/instance:Instance::pg-migrations-prod-instance",
        "aws:rds/parameterGroup:ParameterGroup::pg-migrations-prod-params",
        "aws:rds/subnetGroup:SubnetGroup::pg-migrations-prod-subnets",
        "aws:sns/topic:Topic::pg-migrations-prod-events",
        "aws:sns/topicPolicy:TopicPolicy::pg-migrations-prod-events-policy",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::pg-migrations-prod-from-sg-0a1b2c3d4e5f60718",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::pg-migrations-prod-from-sg-0b2c3d4e5f6071829",
      ].sort(),
    );
    expect(run.resources.filter((r) => r.type.startsWith("pgmigrations:infra:")).map((r) => `${r.type}::${r.name}`)).toEqual(
      expect.arrayContaining(["pgmigrations:infra:DatabaseNetwork::pg-migrations-prod", "pgmigrations:infra:Database::pg-migrations-prod"]),
    );
  });

  test("inputs whose change would replace or rewrite: the parameter group family, the key policy's log condition", () => {
    expect(run.named("aws:rds/parameterGroup:ParameterGroup", `${PREFIX}-params`).inputs.family).toBe("postgres17");
    const policy = JSON.parse(String(run.named("aws:kms/key:Key", `${PREFIX}-key`).inputs.policy)) as { Statement: { Sid: string; Condition?: unknown }[] };
    expect(policy.Statement.find((s) => s.Sid === "CloudWatchLogsEncryptsThisDatabasesLogs")!.Condition).toEqual({
      ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:eu-west-1:123456789012:log-group:/aws/rds/instance/${PREFIX}/*` },
    });
    expect(run.ofType("aws:rds/instance:Instance")).toHaveLength(1);
    expect(run.ofType("aws:rds/cluster:Cluster")).toEqual([]);
  });
});

describe("prod: roles, migrations, verification", () => {
  test("IAM authentication for the application and the auditor; the provider verifies the server", () => {
    for (const name of ["access-app", "access-auditor"]) {
      expect(run.named("postgresql:index/role:Role", name).inputs).toMatchObject({ login: true, roles: ["rds_iam"] });
    }
    expect(reveal(run.named("pulumi:providers:postgresql", "access-provider").inputs)).toMatchObject({
      sslmode: "verify-full",
      sslrootcert: "certs/rds-global-bundle.pem",
      username: "dbadmin",
      password: MASTER_PASSWORD,
    });
  });

  test("the real set: one command per file in order; the no-transaction files say so", async () => {
    await expectMigrationChain(run, MIGRATIONS, {
      identity: "db-MOCKRESOURCEID0000000000",
      dependsOn: ["aws:rds/instance:Instance::pg-migrations-prod-instance", "postgresql:index/role:Role::access-migrator"],
    });
    const url = new URL(reveal<Record<string, string>>(migrationCommands(run)[0]!.inputs.environment).DATABASE_URL!);
    expect(url.port).toBe("5433");
    expect(url.searchParams.get("sslmode")).toBe("verify-full");
    expect(url.searchParams.get("sslrootcert")).toBe("certs/rds-global-bundle.pem");
    expect(String(migrationCommands(run)[0]!.inputs.create)).toContain("--lock-timeout 5s");
  });

  test("a failed check fails `up` in prod: the gate runs after the report", () => {
    const report = expectVerificationAfterMigrations(run, "db-MOCKRESOURCEID0000000000");
    const gate = run.named(COMMAND, "verification-gate");
    expect(gate.dependencies).toContain(`${COMMAND}::${report.name}`);
    expect(reveal(gate.inputs.environment)).toEqual({ VERIFICATION_FAILED: "0", VERIFICATION_FAILED_CHECKS: "" });
  });

  test("outputs: the posture an auditor checks, and nothing secret", async () => {
    const database = run.exports.database as Record<string, any>;
    expect(database).toMatchObject({
      multiAz: true,
      deletionProtection: true,
      publiclyAccessible: false,
      tlsEnforced: true,
      iamAuthentication: true,
      performanceInsights: true,
      enhancedMonitoringSeconds: 60,
      storage: { encrypted: true, kmsKeyArn: keyArn, autoscalingMaxGb: 1000 },
      backups: { retentionDays: 14, finalSnapshot: true, copyTagsToSnapshot: true },
      endpoint: { port: 5433 },
      readReplicas: [],
    });
    expectNoSecretLeaks(run, [MIGRATOR_PASSWORD, MASTER_PASSWORD]);
    expect(await secretExports()).toEqual([]);
  });
});
