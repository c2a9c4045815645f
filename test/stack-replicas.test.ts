/** Pulumi.prod.yaml with `readReplicas: 2`: replicas held to the primary's posture; the migrations stay on the primary. */
import { beforeAll, describe, expect, test } from "vitest";
import { expectMigrationChain, migrationCommands } from "./support/pulumi-assertions.js";
import { cannedReport, reportingCommands } from "./support/pulumi-report.js";
import { readStackFile, reveal, runProgram, type ProgramRun } from "./support/pulumi.js";

const MIGRATIONS = "sql/migrations";
const PREFIX = "pg-migrations-prod";
const keyArn = `arn:aws:kms:eu-west-1:123456789012:key/${PREFIX}-key`;
const INSTANCE = "aws:rds/instance:Instance";

let run: ProgramRun;

beforeAll(async () => {
  run = await runProgram({
    stack: "prod",
    config: { ...readStackFile("prod").config, "pg-migrations:readReplicas": "2", "pg-migrations:migratorPassword": "prod-migrator-password-0123456789" },
    secretKeys: ["pg-migrations:migratorPassword"],
    onResource: reportingCommands(await cannedReport(MIGRATIONS, ["ledger_ok"])),
  });
}, 180_000);

const replicas = () => run.ofType(INSTANCE).filter((i) => i.name !== `${PREFIX}-instance`);

describe("prod with read replicas", () => {
  test("two replicas of the primary, named after it; the primary keeps its name", () => {
    expect(run.ofType(INSTANCE).map((i) => i.name)).toEqual([`${PREFIX}-instance`, `${PREFIX}-replica-1`, `${PREFIX}-replica-2`]);
    for (const [i, r] of replicas().entries()) {
      expect(r.inputs).toMatchObject({ identifier: `${PREFIX}-replica-${i + 1}`, replicateSourceDb: PREFIX });
      expect(r.dependencies).toContain(`${INSTANCE}::${PREFIX}-instance`);
      // The source gives engine, version, storage size, user and subnet group.
      for (const key of ["engine", "engineVersion", "username", "manageMasterUserPassword", "dbName", "dbSubnetGroupName", "allocatedStorage"]) {
        expect(r.inputs[key], `${r.name}.${key}`).toBeUndefined();
      }
    }
  });

  test("each replica has the primary's Security Hub posture", () => {
    for (const r of replicas()) {
      expect(r.inputs, r.name).toMatchObject({
        instanceClass: "db.m7g.large",
        storageEncrypted: true,
        kmsKeyId: keyArn,
        publiclyAccessible: false,
        multiAz: true,
        monitoringInterval: 60,
        deletionProtection: true,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        iamDatabaseAuthenticationEnabled: true,
        autoMinorVersionUpgrade: true,
        copyTagsToSnapshot: true,
        port: 5433,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: keyArn,
        caCertIdentifier: "rds-ca-rsa2048-g1",
        parameterGroupName: `${PREFIX}-params-1a2b3c4`,
        vpcSecurityGroupIds: ["sg-0e0e0e0e0e0e0e0e0"],
        skipFinalSnapshot: true,
      });
      expect(r.protect, r.name).toBe(true);
      expect(r.inputs.monitoringRoleArn, r.name).toMatch(/role\//);
    }
  });

  test("each replica has its own log groups, created first, which our key may encrypt", () => {
    const groups = run.ofType("aws:cloudwatch/logGroup:LogGroup").map((g) => [g.name, g.inputs.name]);
    expect(groups).toEqual([
      [`${PREFIX}-log-postgresql`, `/aws/rds/instance/${PREFIX}/postgresql`],
      [`${PREFIX}-log-upgrade`, `/aws/rds/instance/${PREFIX}/upgrade`],
      [`${PREFIX}-replica-1-log-postgresql`, `/aws/rds/instance/${PREFIX}-replica-1/postgresql`],
      [`${PREFIX}-replica-1-log-upgrade`, `/aws/rds/instance/${PREFIX}-replica-1/upgrade`],
      [`${PREFIX}-replica-2-log-postgresql`, `/aws/rds/instance/${PREFIX}-replica-2/postgresql`],
      [`${PREFIX}-replica-2-log-upgrade`, `/aws/rds/instance/${PREFIX}-replica-2/upgrade`],
    ]);
    expect(run.named(INSTANCE, `${PREFIX}-replica-2`).dependencies).toContain(`aws:cloudwatch/logGroup:LogGroup::${PREFIX}-replica-2-log-postgresql`);
    const policy = JSON.parse(String(run.named("aws:kms/key:Key", `${PREFIX}-key`).inputs.policy)) as { Statement: { Sid: string; Condition?: unknown }[] };
    const logs = (prefix: string) => `arn:aws:logs:eu-west-1:123456789012:log-group:/aws/rds/instance/${prefix}/*`;
    expect(policy.Statement.find((s) => s.Sid === "CloudWatchLogsEncryptsThisDatabasesLogs")!.Condition).toEqual({
      ArnLike: { "kms:EncryptionContext:aws:logs:arn": [logs(PREFIX), logs(`${PREFIX}-replica-1`), logs(`${PREFIX}-replica-2`)] },
    });
  });

  test("instance events cover the replicas too (RDS.20)", () => {
    const instanceEvents = run.ofType("aws:rds/eventSubscription:EventSubscription").find((s) => s.inputs.sourceType === "db-instance")!;
    expect(instanceEvents.inputs.sourceIds).toEqual([PREFIX, `${PREFIX}-replica-1`, `${PREFIX}-replica-2`]);
  });

  test("the migrations go to the primary and do not wait for the replicas", async () => {
    await expectMigrationChain(run, MIGRATIONS, { identity: "db-MOCKRESOURCEID0000000000", dependsOn: [`${INSTANCE}::${PREFIX}-instance`] });
    const command = migrationCommands(run)[0]!;
    expect(command.dependencies).not.toContain(`${INSTANCE}::${PREFIX}-replica-1`);
    expect(new URL(reveal<Record<string, string>>(command.inputs.environment).DATABASE_URL!).hostname).toBe(`${PREFIX}.c0ffee.eu-west-1.rds.amazonaws.com`);
  });

  test("the output lists every replica with its endpoint and posture", () => {
    const database = run.exports.database as Record<string, any>;
    expect(database.kind).toBe("rds");
    expect(database.endpoint).toEqual({ address: `${PREFIX}.c0ffee.eu-west-1.rds.amazonaws.com`, port: 5433 });
    expect(database.readReplicas).toEqual(
      [1, 2].map((n) =>
        expect.objectContaining({
          identifier: `${PREFIX}-replica-${n}`,
          role: "read replica",
          endpoint: { address: `${PREFIX}-replica-${n}.c0ffee.eu-west-1.rds.amazonaws.com`, port: 5433 },
          storage: { encrypted: true, kmsKeyArn: keyArn },
          multiAz: true,
          publiclyAccessible: false,
          deletionProtection: true,
          iamAuthentication: true,
          enhancedMonitoringSeconds: 60,
          logExports: ["postgresql", "upgrade"],
        }),
      ),
    );
  });
});
