/**
 * The security and durability settings of the stack's database, decided once from the stack
 * settings (`securityPosture`), and their translation into the inputs of each RDS resource type
 * that carries them: instance and read replica (database.ts), cluster and cluster member
 * (cluster.ts). Pure: the key and the monitoring role are passed in as ARNs, nothing is created
 * here (test/security-posture.test.ts).
 *
 * This is what the stack asks for; the `database` output (reported-posture.ts) is what RDS
 * reports back, and the Security Hub controls are judged on that.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";

export interface SecurityPosture {
  /** Always: the provider's default is unencrypted (Security Hub RDS.3, RDS.27). */
  storageEncrypted: true;
  /** A customer-managed key of the stack's own for storage, master secret, Performance Insights, logs and event topic. */
  ownKmsKey: boolean;
  /** Always private (RDS.2). */
  publiclyAccessible: false;
  /** RDS.17, RDS.16. */
  copyTagsToSnapshot: true;
  multiAz: boolean;
  deletionProtection: boolean;
  /** prod: Pulumi refuses to delete the key and the databases (`protect`), and automated backups outlive a deleted database. */
  protectFromDeletion: boolean;
  backups: {
    retentionDays: number;
    window: string | undefined;
    /** Undefined: no final snapshot when the database is deleted. */
    finalSnapshotIdentifier: string | undefined;
    deleteAutomatedBackups: boolean;
  };
  maintenanceWindow: string | undefined;
  iamAuthentication: boolean;
  /** Log types exported to CloudWatch, into log groups of the stack's (with this retention). */
  logExports: { types: string[]; retentionDays: number };
  /** Undefined: Performance Insights off. */
  performanceInsights: { retentionDays: number } | undefined;
  /** 0: enhanced monitoring off (and no monitoring role). */
  monitoringIntervalSeconds: number;
  caCertIdentifier: string;
  autoMinorVersionUpgrade: boolean;
  applyImmediately: boolean;
  /** Undefined: no event subscriptions; otherwise the topic they publish to (undefined: one of the stack's own). */
  events: { existingTopicArn: string | undefined } | undefined;
}

export function securityPosture(settings: AwsStackSettings): SecurityPosture {
  const rds = settings.rds;
  const prod = settings.environment === "prod";
  return {
    storageEncrypted: true,
    ownKmsKey: rds.ownKmsKey,
    publiclyAccessible: false,
    copyTagsToSnapshot: true,
    multiAz: rds.multiAz,
    deletionProtection: rds.deletionProtection,
    protectFromDeletion: prod,
    backups: {
      retentionDays: rds.backupRetentionDays,
      window: rds.backupWindow,
      finalSnapshotIdentifier: rds.finalSnapshot ? `${rds.identifier}-final` : undefined,
      deleteAutomatedBackups: !prod,
    },
    maintenanceWindow: rds.maintenanceWindow,
    iamAuthentication: rds.iamAuthentication,
    logExports: { types: rds.logExports, retentionDays: rds.logRetentionDays },
    performanceInsights: rds.performanceInsights ? { retentionDays: rds.performanceInsightsRetentionDays } : undefined,
    monitoringIntervalSeconds: rds.monitoringIntervalSeconds,
    caCertIdentifier: rds.caCertIdentifier,
    autoMinorVersionUpgrade: rds.autoMinorVersionUpgrade,
    applyImmediately: rds.applyImmediately,
    events: rds.eventSubscriptions ? { existingTopicArn: rds.eventTopicArn } : undefined,
  };
}

/** The ARNs the posture's inputs point at: the stack key (when it has its own) and the enhanced-monitoring role (when monitoring is on). */
export interface PostureArns {
  keyArn: pulumi.Input<string> | undefined;
  monitoringRoleArn: pulumi.Input<string> | undefined;
}

function encryptedStorage(p: SecurityPosture, keyArn: pulumi.Input<string> | undefined) {
  return { storageEncrypted: p.storageEncrypted, ...(keyArn ? { kmsKeyId: keyArn } : {}) };
}

/** The master password is generated and kept by RDS in Secrets Manager, under the stack key when there is one. */
export function managedMasterSecret(keyArn: pulumi.Input<string> | undefined) {
  return { manageMasterUserPassword: true, ...(keyArn ? { masterUserSecretKmsKeyId: keyArn } : {}) };
}

function performanceInsights(p: SecurityPosture, keyArn: pulumi.Input<string> | undefined) {
  const pi = p.performanceInsights;
  return {
    performanceInsightsEnabled: pi !== undefined,
    ...(pi ? { performanceInsightsRetentionPeriod: pi.retentionDays, ...(keyArn ? { performanceInsightsKmsKeyId: keyArn } : {}) } : {}),
  };
}

function enhancedMonitoring(p: SecurityPosture, roleArn: pulumi.Input<string> | undefined) {
  return { monitoringInterval: p.monitoringIntervalSeconds, ...(roleArn ? { monitoringRoleArn: roleArn } : {}) };
}

/** Backups and what deleting the database leaves behind (instance and cluster; the window's input name differs). */
function retention(p: SecurityPosture) {
  const b = p.backups;
  return {
    skipFinalSnapshot: b.finalSnapshotIdentifier === undefined,
    ...(b.finalSnapshotIdentifier ? { finalSnapshotIdentifier: b.finalSnapshotIdentifier } : {}),
    deleteAutomatedBackups: b.deleteAutomatedBackups,
    backupRetentionPeriod: b.retentionDays,
  };
}

/** What a primary instance and its read replicas share: the posture Security Hub checks on every DB instance. */
export function instancePosture(p: SecurityPosture, arns: PostureArns) {
  return {
    autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
    ...encryptedStorage(p, arns.keyArn),
    publiclyAccessible: p.publiclyAccessible,
    caCertIdentifier: p.caCertIdentifier,
    iamDatabaseAuthenticationEnabled: p.iamAuthentication,
    multiAz: p.multiAz,
    deletionProtection: p.deletionProtection,
    copyTagsToSnapshot: p.copyTagsToSnapshot,
    ...performanceInsights(p, arns.keyArn),
    ...enhancedMonitoring(p, arns.monitoringRoleArn),
    enabledCloudwatchLogsExports: p.logExports.types,
    applyImmediately: p.applyImmediately,
  };
}

/** The primary's own: its backups, final snapshot and windows (replicas keep no backups; the primary's are the backups). */
export function primaryRetention(p: SecurityPosture) {
  return {
    ...retention(p),
    ...(p.backups.window ? { backupWindow: p.backups.window } : {}),
    ...(p.maintenanceWindow ? { maintenanceWindow: p.maintenanceWindow } : {}),
  };
}

/** A replica takes no final snapshot; its maintenance window is the primary's. */
export function replicaRetention(p: SecurityPosture) {
  return { skipFinalSnapshot: true, ...(p.maintenanceWindow ? { maintenanceWindow: p.maintenanceWindow } : {}) };
}

/** An Aurora cluster's share: storage, authentication, protection, backups and logs are the cluster's. */
export function clusterPosture(p: SecurityPosture, keyArn: pulumi.Input<string> | undefined) {
  return {
    // Aurora upgrades minors only when the cluster and every member allow it.
    autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
    ...encryptedStorage(p, keyArn),
    iamDatabaseAuthenticationEnabled: p.iamAuthentication,
    deletionProtection: p.deletionProtection,
    ...retention(p),
    ...(p.backups.window ? { preferredBackupWindow: p.backups.window } : {}),
    ...(p.maintenanceWindow ? { preferredMaintenanceWindow: p.maintenanceWindow } : {}),
    copyTagsToSnapshot: p.copyTagsToSnapshot,
    enabledCloudwatchLogsExports: p.logExports.types,
    applyImmediately: p.applyImmediately,
  };
}

/** A cluster member's share: access, certificate, monitoring and Performance Insights are per instance. */
export function memberPosture(p: SecurityPosture, arns: PostureArns) {
  return {
    publiclyAccessible: p.publiclyAccessible,
    caCertIdentifier: p.caCertIdentifier,
    autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
    copyTagsToSnapshot: p.copyTagsToSnapshot,
    ...performanceInsights(p, arns.keyArn),
    ...enhancedMonitoring(p, arns.monitoringRoleArn),
    ...(p.maintenanceWindow ? { preferredMaintenanceWindow: p.maintenanceWindow } : {}),
    applyImmediately: p.applyImmediately,
  };
}
