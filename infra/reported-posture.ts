/**
 * The `database` output of an RDS instance or an Aurora cluster: endpoints and security posture as
 * RDS reports them after the deployment (not as the settings asked for them; security-posture.ts
 * holds those), which the Security Hub controls (controls.ts) are judged on. No secret: the master
 * password stays in Secrets Manager.
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

const orNull = <T>(o: pulumi.Output<T>) => o.apply((v) => v ?? null);
const orElse = <T, D>(o: pulumi.Output<T>, fallback: D) => o.apply((v) => v ?? fallback);
const not = (o: pulumi.Output<boolean | undefined>) => o.apply((v) => !v);
/** The output as the DatabaseTarget interface types it (pulumi.output's own type lacks an index signature). */
const asRecord = <T extends object>(o: pulumi.Output<T>): pulumi.Output<Record<string, unknown>> =>
  o.apply((p): Record<string, unknown> => ({ ...(p as Record<string, unknown>) }));
const MASTER_PASSWORD = "managed by RDS in Secrets Manager";

/** What the component knows beside the resource: the database name, the master secret, whether the parameter group forces TLS. */
export interface ReportContext {
  database: string;
  masterSecretArn: pulumi.Output<string>;
  tlsEnforced: pulumi.Output<boolean>;
}

export function reportedInstance(i: aws.rds.Instance, replicas: aws.rds.Instance[], context: ReportContext): pulumi.Output<Record<string, unknown>> {
  return asRecord(
    pulumi.output({
      kind: "rds",
      identifier: i.identifier,
      arn: i.arn,
      endpoint: { address: i.address, port: i.port },
      database: context.database,
      engine: i.engine,
      engineVersion: i.engineVersionActual,
      instanceClass: i.instanceClass,
      storage: {
        type: i.storageType,
        allocatedGb: i.allocatedStorage,
        autoscalingMaxGb: orElse(i.maxAllocatedStorage, 0),
        encrypted: i.storageEncrypted,
        kmsKeyArn: orNull(i.kmsKeyId),
      },
      backups: {
        retentionDays: i.backupRetentionPeriod,
        window: orNull(i.backupWindow),
        finalSnapshot: not(i.skipFinalSnapshot),
        copyTagsToSnapshot: i.copyTagsToSnapshot,
      },
      deletionProtection: i.deletionProtection,
      multiAz: i.multiAz,
      publiclyAccessible: i.publiclyAccessible,
      tlsEnforced: context.tlsEnforced,
      caCertificate: i.caCertIdentifier,
      iamAuthentication: i.iamDatabaseAuthenticationEnabled,
      performanceInsights: i.performanceInsightsEnabled,
      enhancedMonitoringSeconds: i.monitoringInterval,
      logExports: orElse(i.enabledCloudwatchLogsExports, []),
      autoMinorVersionUpgrade: i.autoMinorVersionUpgrade,
      masterUser: { username: i.username, password: MASTER_PASSWORD, secretArn: context.masterSecretArn },
      readReplicas: replicas.map(reportedReplica),
    }),
  );
}

/** A read replica: its own endpoint (read-only) and the posture Security Hub checks on it. */
function reportedReplica(r: aws.rds.Instance) {
  return pulumi.output({
    identifier: r.identifier,
    role: "read replica",
    endpoint: { address: r.address, port: r.port },
    instanceClass: r.instanceClass,
    storage: { encrypted: r.storageEncrypted, kmsKeyArn: orNull(r.kmsKeyId) },
    multiAz: r.multiAz,
    publiclyAccessible: r.publiclyAccessible,
    deletionProtection: r.deletionProtection,
    iamAuthentication: r.iamDatabaseAuthenticationEnabled,
    performanceInsights: r.performanceInsightsEnabled,
    enhancedMonitoringSeconds: r.monitoringInterval,
    logExports: orElse(r.enabledCloudwatchLogsExports, []),
    autoMinorVersionUpgrade: r.autoMinorVersionUpgrade,
    copyTagsToSnapshot: r.copyTagsToSnapshot,
    caCertificate: r.caCertIdentifier,
  });
}

export function reportedCluster(
  c: aws.rds.Cluster,
  members: aws.rds.ClusterInstance[],
  context: ReportContext & { serverless: { minAcu: number; maxAcu: number } | null },
): pulumi.Output<Record<string, unknown>> {
  const reported = pulumi.output(members.map(reportedMember));
  const availabilityZones = reported.apply((ms) => [...new Set(ms.map((m) => m.availabilityZone))]);
  return asRecord(
    pulumi.output({
      kind: "aurora",
      identifier: c.clusterIdentifier,
      arn: c.arn,
      endpoint: { address: c.endpoint, port: c.port },
      readerEndpoint: { address: c.readerEndpoint, port: c.port },
      database: context.database,
      engine: c.engine,
      engineVersion: c.engineVersionActual,
      serverless: context.serverless,
      storage: { encrypted: c.storageEncrypted, kmsKeyArn: orNull(c.kmsKeyId) },
      backups: {
        retentionDays: c.backupRetentionPeriod,
        window: orNull(c.preferredBackupWindow),
        finalSnapshot: not(c.skipFinalSnapshot),
        copyTagsToSnapshot: orElse(c.copyTagsToSnapshot, false),
      },
      deletionProtection: orElse(c.deletionProtection, false),
      // What RDS.15 asks of a cluster: members in more than one AZ.
      multiAz: availabilityZones.apply((zones) => zones.length > 1),
      availabilityZones,
      publiclyAccessible: reported.apply((ms) => ms.some((m) => m.publiclyAccessible)),
      tlsEnforced: context.tlsEnforced,
      iamAuthentication: orElse(c.iamDatabaseAuthenticationEnabled, false),
      logExports: orElse(c.enabledCloudwatchLogsExports, []),
      autoMinorVersionUpgrade: c.autoMinorVersionUpgrade,
      masterUser: { username: c.masterUsername, password: MASTER_PASSWORD, secretArn: context.masterSecretArn },
      members: reported,
    }),
  );
}

/** One member: whether it is the writer now, where it is, and what Security Hub checks on it. */
function reportedMember(m: aws.rds.ClusterInstance) {
  return pulumi.output({
    identifier: m.identifier,
    role: m.writer.apply((writer): "writer" | "reader" => (writer ? "writer" : "reader")),
    endpoint: { address: m.endpoint, port: m.port },
    instanceClass: m.instanceClass,
    availabilityZone: m.availabilityZone,
    publiclyAccessible: orElse(m.publiclyAccessible, false),
    storageEncrypted: m.storageEncrypted,
    performanceInsights: m.performanceInsightsEnabled,
    enhancedMonitoringSeconds: m.monitoringInterval,
    autoMinorVersionUpgrade: m.autoMinorVersionUpgrade,
    copyTagsToSnapshot: orElse(m.copyTagsToSnapshot, false),
    caCertificate: m.caCertIdentifier,
  });
}
