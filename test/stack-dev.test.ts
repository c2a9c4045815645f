import { beforeAll, describe, expect, test } from "vitest";
import { roleVerifier } from "../infra/scram.js";
import { COMMAND, expectMigrationChain, expectNoSecretLeaks, expectVerificationAfterMigrations, migrationCommands } from "./support/pulumi-assertions.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { DEFAULT_SUBNETS, DEFAULT_VPC, readStackFile, reveal, runProgram, secretExports, type ProgramRun } from "./support/pulumi.js";

const MIGRATIONS = "test/fixtures/stack-basic/migrations";
const MIGRATOR_PASSWORD = "dev-migrator-password-0123456789";
const MASTER_PASSWORD = "mock-master-password-0123";

let run: ProgramRun;

beforeAll(async () => {
  const { config } = readStackFile("dev");
  run = await runProgram({
    stack: "dev",
    config: {
      ...config,
      "pg-migrations:migrationsDir": MIGRATIONS,
      "pg-migrations:verifyDir": "test/fixtures/stack-basic/verify",
      // What `pulumi config set --secret` would add to the real file.
      "pg-migrations:migratorPassword": MIGRATOR_PASSWORD,
    },
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(await cannedReport(MIGRATIONS)),
  });
}, 120_000);

const instance = () => run.named("aws:rds/instance:Instance", "pg-migrations-dev-instance").inputs;

describe("dev: RDS, small and disposable", () => {
  test("the network: the default VPC and its subnets, 5432 from the configured CIDR only, no egress", () => {
    expect(run.calls.find((c) => c.token === "aws:ec2/getVpc:getVpc")?.inputs).toMatchObject({ default: true });
    const subnets = run.calls.find((c) => c.token === "aws:ec2/getSubnets:getSubnets")?.inputs as { filters: { name: string; values: string[] }[] };
    expect(subnets.filters).toContainEqual({ name: "vpc-id", values: [DEFAULT_VPC] });
    expect(run.named("aws:rds/subnetGroup:SubnetGroup", "pg-migrations-dev-subnets").inputs.subnetIds).toEqual(DEFAULT_SUBNETS);

    const sg = run.named("aws:ec2/securityGroup:SecurityGroup", "pg-migrations-dev-sg").inputs;
    expect(sg.vpcId).toBe(DEFAULT_VPC);
    expect(sg.ingress ?? []).toEqual([]);
    expect(sg.egress ?? []).toEqual([]);
    const rules = run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
    expect(rules).toEqual([expect.objectContaining({ ipProtocol: "tcp", fromPort: 5432, toPort: 5432, cidrIpv4: "172.31.0.0/16" })]);
    expect(run.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")).toEqual([]);
  });

  test("the instance: PostgreSQL 17 on encrypted gp3, RDS-managed password, private, single-AZ, no protection", () => {
    expect(instance()).toMatchObject({
      identifier: "pg-migrations-dev",
      engine: "postgres",
      engineVersion: "17",
      instanceClass: "db.t4g.micro",
      storageType: "gp3",
      allocatedStorage: 20,
      maxAllocatedStorage: 0,
      storageEncrypted: true,
      manageMasterUserPassword: true,
      username: "dbadmin",
      port: 5432,
      publiclyAccessible: false,
      multiAz: false,
      deletionProtection: false,
      skipFinalSnapshot: true,
      deleteAutomatedBackups: true,
      backupRetentionPeriod: 1,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      iamDatabaseAuthenticationEnabled: false,
      performanceInsightsEnabled: false,
      monitoringInterval: 0,
      enabledCloudwatchLogsExports: [],
      applyImmediately: true,
      dbSubnetGroupName: "pg-migrations-dev-subnets-1a2b3c4",
      vpcSecurityGroupIds: ["sg-0e0e0e0e0e0e0e0e0"],
      parameterGroupName: "pg-migrations-dev-params-1a2b3c4",
    });
    // No password of our own, and the AWS-managed key (dev has no key of its own).
    expect(instance().password).toBeUndefined();
    expect(instance().kmsKeyId).toBeUndefined();
    expect(run.ofType("aws:kms/key:Key")).toEqual([]);
  });

  test("the parameter group forces TLS, logs slow statements and loads pg_stat_statements", () => {
    const pg = run.named("aws:rds/parameterGroup:ParameterGroup", "pg-migrations-dev-params").inputs;
    expect(pg.family).toBe("postgres17");
    const params = Object.fromEntries((pg.parameters as { name: string; value: string }[]).map((p) => [p.name, p.value]));
    expect(params).toMatchObject({ "rds.force_ssl": "1", log_min_duration_statement: "250", shared_preload_libraries: "pg_stat_statements" });
  });

  test("prod-only extras are absent: monitoring role, log groups, event subscriptions", () => {
    expect(run.ofType("aws:iam/role:Role")).toEqual([]);
    expect(run.ofType("aws:cloudwatch/logGroup:LogGroup")).toEqual([]);
    expect(run.ofType("aws:rds/eventSubscription:EventSubscription")).toEqual([]);
  });

  test("every AWS resource that takes tags carries the stack's tags", () => {
    const taggable = run.resources.filter((r) => r.type.startsWith("aws:") && !/RolePolicyAttachment|kms\/alias|TopicPolicy/.test(r.type));
    expect(taggable.length).toBeGreaterThan(3);
    for (const r of taggable) {
      expect(r.inputs.tags, `${r.type}::${r.name}`).toMatchObject({
        project: "pg-migrations",
        stack: "dev",
        environment: "dev",
        "managed-by": "pulumi",
        team: "platform",
        "cost-center": "engineering",
      });
    }
  });
});

describe("dev: roles", () => {
  test("the postgresql provider connects to the instance as the master user with the RDS-managed password, over TLS", () => {
    const provider = run.named("pulumi:providers:postgresql", "access-provider").inputs;
    expect(reveal(provider)).toMatchObject({
      host: "pg-migrations-dev.c0ffee.eu-west-1.rds.amazonaws.com",
      username: "dbadmin",
      password: MASTER_PASSWORD,
      sslmode: "require",
      database: "app",
    });
    expect(String(reveal(provider.port))).toBe("5432");
    expect(run.calls.find((c) => c.token === "aws:secretsmanager/getSecretVersion:getSecretVersion")?.inputs).toMatchObject({
      secretId: expect.stringContaining(":secret:rds!db-pg-migrations-dev"),
    });
  });

  test("migrator logs in with the secret password, of which the provider gets only the SCRAM-SHA-256 verifier; app and auditor are group roles without IAM auth in dev", () => {
    const migrator = run.named("postgresql:index/role:Role", "access-migrator").inputs;
    expect(migrator).toMatchObject({ name: "migrator", login: true, searchPaths: ["public"] });
    expect(reveal(migrator.password)).toBe(roleVerifier(MIGRATOR_PASSWORD, "migrator"));
    expect(JSON.stringify(migrator)).not.toContain(MIGRATOR_PASSWORD);
    expect(run.named("postgresql:index/role:Role", "access-app").inputs).toMatchObject({ name: "app", login: false });
    expect(run.named("postgresql:index/role:Role", "access-auditor").inputs).toMatchObject({ name: "auditor", login: false });
  });

  test("default privileges cover tables created by later migrations; the ledger is append-only for the app", () => {
    const defaults = run.ofType("postgresql:index/defaultPrivileges:DefaultPrivileges").map((d) => d.inputs);
    expect(defaults).toContainEqual(
      expect.objectContaining({ owner: "migrator", role: "app", schema: "public", objectType: "table", privileges: ["SELECT", "INSERT", "UPDATE", "DELETE"] }),
    );
    expect(defaults).toContainEqual(expect.objectContaining({ owner: "migrator", role: "auditor", schema: "public", objectType: "table", privileges: ["SELECT"] }));
    expect(defaults).toContainEqual(expect.objectContaining({ owner: "migrator", role: "auditor", schema: "migrator", objectType: "table", privileges: ["SELECT"] }));
    const appendOnly = run.named("postgresql:index/grant:Grant", "access-app-pointtransaction-append-only");
    expect(appendOnly.inputs).toMatchObject({ role: "app", schema: "public", objectType: "table", objects: ["PointTransaction"], privileges: ["INSERT", "SELECT"] });
    expect(appendOnly.dependencies).toContain(`${COMMAND}::${migrationCommands(run).at(-1)!.name}`);
    expect(run.named("postgresql:index/schema:Schema", "access-ledger-schema").inputs).toMatchObject({ name: "migrator", owner: "migrator" });
  });
});

describe("dev: migrations and verification", () => {
  test("one command per file, in order, each after the one before, the roles and the database", async () => {
    await expectMigrationChain(run, MIGRATIONS, {
      identity: "db-MOCKRESOURCEID0000000000",
      dependsOn: [
        "aws:rds/instance:Instance::pg-migrations-dev-instance",
        "postgresql:index/role:Role::access-migrator",
        "postgresql:index/defaultPrivileges:DefaultPrivileges::access-app-tables",
        "postgresql:index/schema:Schema::access-ledger-schema",
      ],
    });
    const env = reveal<Record<string, string>>(migrationCommands(run)[0]!.inputs.environment);
    const modes = Object.entries(env)
      .filter(([k]) => k.startsWith("MIGRATION_"))
      .map(([, v]) => v.split(" ")[1]);
    expect(modes).toEqual(["transaction", "transaction", "no-transaction"]);
  });

  test("the migrator's connection: the instance endpoint over TLS as the migrator role", () => {
    const url = new URL(reveal<Record<string, string>>(migrationCommands(run)[0]!.inputs.environment).DATABASE_URL!);
    expect(url.hostname).toBe("pg-migrations-dev.c0ffee.eu-west-1.rds.amazonaws.com");
    expect(url.port).toBe("5432");
    expect(url.pathname).toBe("/app");
    expect(decodeURIComponent(url.username)).toBe("migrator");
    expect(decodeURIComponent(url.password)).toBe(MIGRATOR_PASSWORD);
    expect(url.searchParams.get("sslmode")).toBe("require");
  });

  test("verification runs after the last migration; no gate in dev", () => {
    expectVerificationAfterMigrations(run, "db-MOCKRESOURCEID0000000000");
    expect(run.ofType(COMMAND).find((c) => c.name === "verification-gate")).toBeUndefined();
  });

  test("outputs: database posture, the ledger, the checks, the planned set", () => {
    const { database, migrations, verification, migrationSet } = run.exports as Record<string, any>;
    expect(database).toMatchObject({
      kind: "rds",
      endpoint: { address: "pg-migrations-dev.c0ffee.eu-west-1.rds.amazonaws.com", port: 5432 },
      engineVersion: "17.6",
      instanceClass: "db.t4g.micro",
      storage: { type: "gp3", encrypted: true },
      backups: { retentionDays: 1, finalSnapshot: false },
      deletionProtection: false,
      multiAz: false,
      publiclyAccessible: false,
      tlsEnforced: true,
      iamAuthentication: false,
      masterUser: { username: "dbadmin", secretArn: expect.stringContaining("secretsmanager") },
    });
    expect(migrations.applied.map((a: { transaction: string }) => a.transaction)).toEqual(["transaction", "transaction", "no-transaction"]);
    expect(verification).toMatchObject({ ok: true, passed: 3, failed: 0, server: { connectionEncrypted: true } });
    expect(migrationSet).toEqual({ files: 3, last: "20260101000200_idx_point_transaction_member", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  test("no secret in any output or command line", async () => {
    expectNoSecretLeaks(run, [MIGRATOR_PASSWORD, MASTER_PASSWORD]);
    expect(await secretExports()).toEqual([]);
  });
});
