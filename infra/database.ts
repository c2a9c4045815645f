import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";
import type { DatabaseNetwork } from "./network.js";
import { accountContext, controlEvidence, eventTopic, forcesTls, logGroups, masterPassword, masterSecretArn, monitoringRole, stackKey, subscribe } from "./rds-common.js";
import type { DatabaseTarget } from "./target.js";
import type { ControlEvidence } from "./controls.js";

export interface DatabaseArgs {
  settings: AwsStackSettings;
  network: DatabaseNetwork;
  tags: Record<string, string>;
}

/** The parameter group's settings, as PostgreSQL names them. `applyMethod` matters for static ones. */
export function parameterList(settings: AwsStackSettings): { name: string; value: string; applyMethod: "immediate" | "pending-reboot" }[] {
  return [
    // TLS for every connection (Security Hub RDS.38: RDS for PostgreSQL encrypted in transit).
    { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
    // Statements slower than this go to the log (and, in prod, to CloudWatch).
    { name: "log_min_duration_statement", value: String(settings.rds.slowStatementMs), applyMethod: "immediate" },
    // A migration waiting on a lock shows up in the log while it waits.
    { name: "log_lock_waits", value: "1", applyMethod: "immediate" },
    { name: "shared_preload_libraries", value: "pg_stat_statements", applyMethod: "pending-reboot" },
    { name: "pg_stat_statements.track", value: "top", applyMethod: "immediate" },
  ];
}

/**
 * An RDS PostgreSQL instance with every default that matters set explicitly (the
 * provider's defaults are unencrypted, unprotected, without backups and on gp2), its
 * parameter group (TLS forced, slow statements logged, pg_stat_statements), optional read
 * replicas held to the same posture, and in prod its own KMS key, enhanced-monitoring role,
 * encrypted log groups and event subscriptions. The master password is generated and kept by
 * RDS in Secrets Manager. The migrations go to the primary: replicas are read-only.
 */
export class Database extends pulumi.ComponentResource implements DatabaseTarget {
  readonly instance: aws.rds.Instance;
  readonly replicas: aws.rds.Instance[];
  readonly parameterGroup: aws.rds.ParameterGroup;
  readonly kmsKey: aws.kms.Key | undefined;
  readonly host: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly database: string;
  readonly adminUser: pulumi.Output<string>;
  readonly adminPassword: pulumi.Output<string>;
  readonly identity: pulumi.Output<string>;
  readonly resources: pulumi.Resource[];
  readonly masterSecretArn: pulumi.Output<string>;
  readonly posture: pulumi.Output<Record<string, unknown>>;
  readonly controlEvidence: pulumi.Output<ControlEvidence>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:Database", name, {}, opts);
    const { settings, network, tags } = args;
    const rds = settings.rds;
    const prod = settings.environment === "prod";

    const account = accountContext(this, rds.region);
    const replicaIds = Array.from({ length: rds.readReplicas }, (_, i) => `${rds.identifier}-replica-${i + 1}`);
    const logGroupPrefix = (identifier: string) => `/aws/rds/instance/${identifier}`;

    this.kmsKey = rds.ownKmsKey
      ? stackKey(name, this, { identifier: rds.identifier, account, logGroupPrefixes: [rds.identifier, ...replicaIds].map(logGroupPrefix), tags, protect: prod })
      : undefined;
    const keyArn = this.kmsKey?.arn;

    this.parameterGroup = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        family: `postgres${rds.engineMajor}`,
        description: `${rds.identifier}: TLS forced, slow statements logged, pg_stat_statements`,
        parameters: parameterList(settings),
        tags,
      },
      { parent: this },
    );

    const monitoringRoleArn = rds.monitoringIntervalSeconds > 0 ? monitoringRole(name, this, { identifier: rds.identifier, account, tags }) : undefined;
    const logs = (resourceName: string, identifier: string) =>
      logGroups(resourceName, this, { prefix: logGroupPrefix(identifier), types: rds.logExports, retentionDays: rds.logRetentionDays, keyArn, tags });

    /** What the primary and its replicas share: the posture Security Hub checks on every DB instance. */
    const posture = {
      instanceClass: rds.instanceClass,
      autoMinorVersionUpgrade: rds.autoMinorVersionUpgrade,
      storageType: "gp3",
      maxAllocatedStorage: rds.maxAllocatedStorageGb,
      storageEncrypted: true,
      ...(keyArn ? { kmsKeyId: keyArn } : {}),
      port: rds.port,
      vpcSecurityGroupIds: [network.securityGroupId],
      publiclyAccessible: false,
      networkType: "IPV4",
      parameterGroupName: this.parameterGroup.name,
      caCertIdentifier: rds.caCertIdentifier,
      iamDatabaseAuthenticationEnabled: rds.iamAuthentication,
      multiAz: rds.multiAz,
      deletionProtection: rds.deletionProtection,
      copyTagsToSnapshot: true,
      performanceInsightsEnabled: rds.performanceInsights,
      ...(rds.performanceInsights
        ? { performanceInsightsRetentionPeriod: rds.performanceInsightsRetentionDays, ...(keyArn ? { performanceInsightsKmsKeyId: keyArn } : {}) }
        : {}),
      monitoringInterval: rds.monitoringIntervalSeconds,
      ...(monitoringRoleArn ? { monitoringRoleArn } : {}),
      enabledCloudwatchLogsExports: rds.logExports,
      applyImmediately: rds.applyImmediately,
      tags,
    };

    this.instance = new aws.rds.Instance(
      `${name}-instance`,
      {
        ...posture,
        identifier: rds.identifier,
        engine: "postgres",
        engineVersion: rds.engineVersion,
        allowMajorVersionUpgrade: false,
        allocatedStorage: rds.allocatedStorageGb,
        dbName: rds.databaseName,
        username: rds.masterUsername,
        manageMasterUserPassword: true,
        ...(keyArn ? { masterUserSecretKmsKeyId: keyArn } : {}),
        dbSubnetGroupName: network.subnetGroupName,
        skipFinalSnapshot: !rds.finalSnapshot,
        ...(rds.finalSnapshot ? { finalSnapshotIdentifier: `${rds.identifier}-final` } : {}),
        deleteAutomatedBackups: !prod,
        backupRetentionPeriod: rds.backupRetentionDays,
        ...(rds.backupWindow ? { backupWindow: rds.backupWindow } : {}),
        ...(rds.maintenanceWindow ? { maintenanceWindow: rds.maintenanceWindow } : {}),
      },
      { parent: this, dependsOn: logs(name, rds.identifier), protect: prod },
    );

    // Replicas of the primary in its region: engine, version, storage, user and subnet group come
    // from it. They take no final snapshot and keep no backups of their own (the primary's are the
    // backups); everything else is the primary's posture, Multi-AZ included (RDS.5 checks every instance).
    this.replicas = replicaIds.map(
      (identifier, i) =>
        new aws.rds.Instance(
          `${name}-replica-${i + 1}`,
          {
            ...posture,
            identifier,
            replicateSourceDb: this.instance.identifier,
            skipFinalSnapshot: true,
            ...(rds.maintenanceWindow ? { maintenanceWindow: rds.maintenanceWindow } : {}),
          },
          { parent: this, dependsOn: logs(`${name}-replica-${i + 1}`, identifier), protect: prod },
        ),
    );

    let subscriptions: aws.rds.EventSubscription[] = [];
    if (rds.eventSubscriptions) {
      const topicArn = eventTopic(name, this, { existingTopicArn: rds.eventTopicArn, keyArn, account, tags });
      // Security Hub RDS.20, 21, 22: instance (primary and replicas), parameter group and security group events.
      subscriptions = subscribe(
        name,
        this,
        topicArn,
        [
          {
            suffix: "instance",
            sourceType: "db-instance",
            eventCategories: ["availability", "configuration change", "deletion", "failover", "failure", "low storage", "maintenance", "notification", "recovery"],
            sourceIds: [this.instance.identifier, ...this.replicas.map((r) => r.identifier)],
          },
          {
            suffix: "parameter-group",
            sourceType: "db-parameter-group",
            eventCategories: ["configuration change", "maintenance"],
            sourceIds: [this.parameterGroup.name],
          },
          { suffix: "security-group", sourceType: "db-security-group", eventCategories: ["configuration change", "failure"], sourceIds: undefined },
        ],
        tags,
      );
    }

    this.masterSecretArn = masterSecretArn(this.instance.masterUserSecrets, rds.identifier);

    this.host = this.instance.address;
    this.port = this.instance.port;
    this.database = rds.databaseName;
    this.adminUser = this.instance.username;
    this.adminPassword = masterPassword(this, this.masterSecretArn);
    // DbiResourceId is new for every instance, even one re-created under the same identifier.
    this.identity = this.instance.resourceId;
    this.resources = [this.instance];

    const i = this.instance;
    const tlsEnforced = forcesTls(this.parameterGroup.parameters);
    const replicaPostures = pulumi.output(this.replicas.map(replicaPosture));
    this.posture = pulumi
      .output({
        identifier: i.identifier,
        arn: i.arn,
        address: i.address,
        port: i.port,
        engine: i.engine,
        engineVersion: i.engineVersionActual,
        instanceClass: i.instanceClass,
        storageType: i.storageType,
        allocatedStorage: i.allocatedStorage,
        maxAllocatedStorage: i.maxAllocatedStorage,
        storageEncrypted: i.storageEncrypted,
        kmsKeyId: i.kmsKeyId,
        backupRetentionPeriod: i.backupRetentionPeriod,
        backupWindow: i.backupWindow,
        skipFinalSnapshot: i.skipFinalSnapshot,
        copyTagsToSnapshot: i.copyTagsToSnapshot,
        deletionProtection: i.deletionProtection,
        multiAz: i.multiAz,
        publiclyAccessible: i.publiclyAccessible,
        iamAuth: i.iamDatabaseAuthenticationEnabled,
        performanceInsights: i.performanceInsightsEnabled,
        monitoringInterval: i.monitoringInterval,
        logExports: i.enabledCloudwatchLogsExports,
        autoMinorVersionUpgrade: i.autoMinorVersionUpgrade,
        caCertIdentifier: i.caCertIdentifier,
        username: i.username,
        masterSecretArn: this.masterSecretArn,
        tlsEnforced,
        replicas: replicaPostures,
      })
      .apply((p): Record<string, unknown> => ({
        kind: "rds",
        identifier: p.identifier,
        arn: p.arn,
        endpoint: { address: p.address, port: p.port },
        database: rds.databaseName,
        engine: p.engine,
        engineVersion: p.engineVersion,
        instanceClass: p.instanceClass,
        storage: {
          type: p.storageType,
          allocatedGb: p.allocatedStorage,
          autoscalingMaxGb: p.maxAllocatedStorage ?? 0,
          encrypted: p.storageEncrypted,
          kmsKeyArn: p.kmsKeyId ?? null,
        },
        backups: {
          retentionDays: p.backupRetentionPeriod,
          window: p.backupWindow ?? null,
          finalSnapshot: !p.skipFinalSnapshot,
          copyTagsToSnapshot: p.copyTagsToSnapshot,
        },
        deletionProtection: p.deletionProtection,
        multiAz: p.multiAz,
        publiclyAccessible: p.publiclyAccessible,
        tlsEnforced: p.tlsEnforced,
        caCertificate: p.caCertIdentifier,
        iamAuthentication: p.iamAuth,
        performanceInsights: p.performanceInsights,
        enhancedMonitoringSeconds: p.monitoringInterval,
        logExports: p.logExports ?? [],
        autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
        masterUser: { username: p.username, password: "managed by RDS in Secrets Manager", secretArn: p.masterSecretArn },
        readReplicas: p.replicas,
      }));

    this.controlEvidence = controlEvidence(this.instance.tags, network, subscriptions);
    this.registerOutputs({ identity: this.identity, posture: this.posture });
  }
}

/** A read replica as RDS reports it: its own endpoint (read-only) and the posture Security Hub checks on it. */
function replicaPosture(r: aws.rds.Instance): pulumi.Output<Record<string, unknown>> {
  return pulumi
    .output({
      identifier: r.identifier,
      address: r.address,
      port: r.port,
      instanceClass: r.instanceClass,
      storageEncrypted: r.storageEncrypted,
      kmsKeyId: r.kmsKeyId,
      multiAz: r.multiAz,
      publiclyAccessible: r.publiclyAccessible,
      deletionProtection: r.deletionProtection,
      iamAuth: r.iamDatabaseAuthenticationEnabled,
      performanceInsights: r.performanceInsightsEnabled,
      monitoringInterval: r.monitoringInterval,
      logExports: r.enabledCloudwatchLogsExports,
      autoMinorVersionUpgrade: r.autoMinorVersionUpgrade,
      copyTagsToSnapshot: r.copyTagsToSnapshot,
      caCertIdentifier: r.caCertIdentifier,
    })
    .apply((p): Record<string, unknown> => ({
      identifier: p.identifier,
      role: "read replica",
      endpoint: { address: p.address, port: p.port },
      instanceClass: p.instanceClass,
      storage: { encrypted: p.storageEncrypted, kmsKeyArn: p.kmsKeyId ?? null },
      multiAz: p.multiAz,
      publiclyAccessible: p.publiclyAccessible,
      deletionProtection: p.deletionProtection,
      iamAuthentication: p.iamAuth,
      performanceInsights: p.performanceInsights,
      enhancedMonitoringSeconds: p.monitoringInterval,
      logExports: p.logExports ?? [],
      autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
      copyTagsToSnapshot: p.copyTagsToSnapshot,
      caCertificate: p.caCertIdentifier,
    }));
}
