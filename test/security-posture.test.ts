/** The security posture decided once from the stack settings, and its inputs per RDS resource type (infra/security-posture.ts). */
import { describe, expect, test } from "vitest";
import { clusterPosture, instancePosture, memberPosture, primaryRetention, replicaRetention, securityPosture } from "../infra/security-posture.js";
import { parseStackSettings, type AwsStackSettings } from "../stacks/index.js";
import { readStackFile } from "./support/pulumi.js";

const settingsOf = (stack: string, extra: Record<string, string> = {}) =>
  parseStackSettings(
    { ...readStackFile(stack).config, "pg-migrations:migratorPassword": "a-migrator-password-long-enough", ...extra },
    { project: "pg-migrations", stack },
  ) as AwsStackSettings;

const arns = { keyArn: "arn:key", monitoringRoleArn: "arn:role" };

describe("securityPosture", () => {
  test("prod: own key, protected, Multi-AZ, final snapshot, backups kept, IAM auth, Performance Insights, monitoring, events", () => {
    expect(securityPosture(settingsOf("prod"))).toMatchObject({
      storageEncrypted: true,
      ownKmsKey: true,
      publiclyAccessible: false,
      multiAz: true,
      deletionProtection: true,
      protectFromDeletion: true,
      backups: { retentionDays: 14, finalSnapshotIdentifier: "pg-migrations-prod-final", deleteAutomatedBackups: false },
      iamAuthentication: true,
      logExports: { types: ["postgresql", "upgrade"] },
      performanceInsights: { retentionDays: expect.any(Number) },
      monitoringIntervalSeconds: 60,
      events: { existingTopicArn: undefined },
    });
  });

  test("dev: disposable, and what it gives up is visible in the posture", () => {
    expect(securityPosture(settingsOf("dev"))).toMatchObject({
      storageEncrypted: true,
      ownKmsKey: false,
      multiAz: false,
      deletionProtection: false,
      protectFromDeletion: false,
      backups: { finalSnapshotIdentifier: undefined, deleteAutomatedBackups: true },
      performanceInsights: undefined,
      monitoringIntervalSeconds: 0,
      events: undefined,
    });
  });
});

describe("the posture as each resource's inputs", () => {
  const prod = securityPosture(settingsOf("prod", { "pg-migrations:backupWindow": "03:00-04:00", "pg-migrations:maintenanceWindow": "sun:05:00-sun:06:00" }));
  const dev = securityPosture(settingsOf("dev"));

  test("an instance: the key for storage and Performance Insights, the monitoring role; none of them without a key or monitoring", () => {
    expect(instancePosture(prod, arns)).toMatchObject({
      storageEncrypted: true,
      kmsKeyId: "arn:key",
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: "arn:key",
      monitoringInterval: 60,
      monitoringRoleArn: "arn:role",
      publiclyAccessible: false,
      deletionProtection: true,
      multiAz: true,
      copyTagsToSnapshot: true,
      iamDatabaseAuthenticationEnabled: true,
    });
    const plain = instancePosture(dev, { keyArn: undefined, monitoringRoleArn: undefined });
    for (const key of ["kmsKeyId", "performanceInsightsKmsKeyId", "performanceInsightsRetentionPeriod", "monitoringRoleArn"]) expect(plain).not.toHaveProperty(key);
    expect(plain).toMatchObject({ performanceInsightsEnabled: false, monitoringInterval: 0 });
  });

  test("the primary keeps backups and a final snapshot; a replica neither, with the same maintenance window", () => {
    expect(primaryRetention(prod)).toEqual({
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "pg-migrations-prod-final",
      deleteAutomatedBackups: false,
      backupRetentionPeriod: 14,
      backupWindow: "03:00-04:00",
      maintenanceWindow: "sun:05:00-sun:06:00",
    });
    expect(primaryRetention(dev)).toMatchObject({ skipFinalSnapshot: true, deleteAutomatedBackups: true });
    expect(primaryRetention(dev)).not.toHaveProperty("finalSnapshotIdentifier");
    expect(replicaRetention(prod)).toEqual({ skipFinalSnapshot: true, maintenanceWindow: "sun:05:00-sun:06:00" });
  });

  test("a cluster takes storage, backups and protection under Aurora's input names; its members take monitoring and Performance Insights", () => {
    expect(clusterPosture(prod, "arn:key")).toMatchObject({
      storageEncrypted: true,
      kmsKeyId: "arn:key",
      deletionProtection: true,
      preferredBackupWindow: "03:00-04:00",
      preferredMaintenanceWindow: "sun:05:00-sun:06:00",
      backupRetentionPeriod: 14,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
    });
    expect(clusterPosture(prod, "arn:key")).not.toHaveProperty("monitoringInterval");
    expect(memberPosture(prod, arns)).toMatchObject({
      publiclyAccessible: false,
      performanceInsightsKmsKeyId: "arn:key",
      monitoringRoleArn: "arn:role",
      preferredMaintenanceWindow: "sun:05:00-sun:06:00",
    });
    expect(memberPosture(prod, arns)).not.toHaveProperty("storageEncrypted");
  });
});
