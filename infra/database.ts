import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";
import type { DatabaseNetwork } from "./network.js";
import type { DatabaseTarget } from "./target.js";

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

function parseMasterSecret(text: string): { username: string; password: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const p = parsed as { username?: unknown; password?: unknown } | undefined;
  if (!p || typeof p.password !== "string" || typeof p.username !== "string") {
    // Never include the text: it is the secret.
    throw new Error("the RDS-managed master secret is not the JSON {username, password} RDS writes; check the secret in Secrets Manager");
  }
  return { username: p.username, password: p.password };
}

/**
 * An RDS PostgreSQL 17 instance with every default that matters set explicitly (the
 * provider's defaults are unencrypted, unprotected, without backups and on gp2), its
 * parameter group (TLS forced, slow statements logged, pg_stat_statements), and in prod
 * its own KMS key, enhanced-monitoring role, encrypted log groups and event subscriptions.
 * The master password is generated and kept by RDS in Secrets Manager.
 */
export class Database extends pulumi.ComponentResource implements DatabaseTarget {
  readonly instance: aws.rds.Instance;
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

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:Database", name, {}, opts);
    const { settings, network, tags } = args;
    const rds = settings.rds;
    const prod = settings.environment === "prod";

    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const logGroupPrefix = `/aws/rds/instance/${rds.identifier}`;

    this.kmsKey = rds.ownKmsKey
      ? new aws.kms.Key(
          `${name}-key`,
          {
            description: `${rds.identifier}: RDS storage, master secret, Performance Insights, logs and event topic`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: pulumi.jsonStringify({
              Version: "2012-10-17",
              Statement: [
                {
                  Sid: "AccountAdministersTheKey",
                  Effect: "Allow",
                  Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${accountId}:root` },
                  Action: "kms:*",
                  Resource: "*",
                },
                {
                  Sid: "CloudWatchLogsEncryptsThisDatabasesLogs",
                  Effect: "Allow",
                  Principal: { Service: `logs.${rds.region}.amazonaws.com` },
                  Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                  Resource: "*",
                  Condition: {
                    ArnLike: { "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:${partition}:logs:${rds.region}:${accountId}:log-group:${logGroupPrefix}/*` },
                  },
                },
                {
                  Sid: "RdsEventsPublishToTheEncryptedTopic",
                  Effect: "Allow",
                  Principal: { Service: "events.rds.amazonaws.com" },
                  Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
                  Resource: "*",
                },
              ],
            }),
            tags,
          },
          { parent: this, protect: prod },
        )
      : undefined;
    if (this.kmsKey) {
      new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${rds.identifier}`, targetKeyId: this.kmsKey.keyId }, { parent: this });
    }
    const keyArn = this.kmsKey?.arn;

    this.parameterGroup = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        family: "postgres17",
        description: `${rds.identifier}: TLS forced, slow statements logged, pg_stat_statements`,
        parameters: parameterList(settings),
        tags,
      },
      { parent: this },
    );

    let monitoringRoleArn: pulumi.Output<string> | undefined;
    if (rds.monitoringIntervalSeconds > 0) {
      const role = new aws.iam.Role(
        `${name}-monitoring`,
        {
          description: `Enhanced monitoring of ${rds.identifier}`,
          assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
          }),
          tags,
        },
        { parent: this },
      );
      const attachment = new aws.iam.RolePolicyAttachment(
        `${name}-monitoring-policy`,
        { role: role.name, policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole` },
        { parent: this },
      );
      // The instance must not start before the role can publish.
      monitoringRoleArn = pulumi.all([role.arn, attachment.id]).apply(([arn]) => arn);
    }

    // Created before the instance, so RDS writes into groups with a retention (and, in prod, our key)
    // instead of creating its own that keep logs forever.
    const logGroups = rds.logExports.map(
      (type) =>
        new aws.cloudwatch.LogGroup(
          `${name}-log-${type}`,
          { name: `${logGroupPrefix}/${type}`, retentionInDays: rds.logRetentionDays, ...(keyArn ? { kmsKeyId: keyArn } : {}), tags },
          { parent: this },
        ),
    );

    this.instance = new aws.rds.Instance(
      `${name}-instance`,
      {
        identifier: rds.identifier,
        engine: "postgres",
        engineVersion: rds.engineVersion,
        allowMajorVersionUpgrade: false,
        autoMinorVersionUpgrade: rds.autoMinorVersionUpgrade,
        instanceClass: rds.instanceClass,
        storageType: "gp3",
        allocatedStorage: rds.allocatedStorageGb,
        maxAllocatedStorage: rds.maxAllocatedStorageGb,
        storageEncrypted: true,
        ...(keyArn ? { kmsKeyId: keyArn } : {}),
        dbName: rds.databaseName,
        username: rds.masterUsername,
        manageMasterUserPassword: true,
        ...(keyArn ? { masterUserSecretKmsKeyId: keyArn } : {}),
        port: rds.port,
        dbSubnetGroupName: network.subnetGroupName,
        vpcSecurityGroupIds: [network.securityGroupId],
        publiclyAccessible: false,
        networkType: "IPV4",
        parameterGroupName: this.parameterGroup.name,
        caCertIdentifier: rds.caCertIdentifier,
        iamDatabaseAuthenticationEnabled: rds.iamAuthentication,
        multiAz: rds.multiAz,
        deletionProtection: rds.deletionProtection,
        skipFinalSnapshot: !rds.finalSnapshot,
        ...(rds.finalSnapshot ? { finalSnapshotIdentifier: `${rds.identifier}-final` } : {}),
        deleteAutomatedBackups: !prod,
        backupRetentionPeriod: rds.backupRetentionDays,
        ...(rds.backupWindow ? { backupWindow: rds.backupWindow } : {}),
        ...(rds.maintenanceWindow ? { maintenanceWindow: rds.maintenanceWindow } : {}),
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
      },
      { parent: this, dependsOn: logGroups, protect: prod },
    );

    if (rds.eventSubscriptions) {
      this.subscribeToEvents(name, rds.eventTopicArn, keyArn, accountId, tags);
    }

    this.masterSecretArn = this.instance.masterUserSecrets.apply((secrets) => {
      const arn = secrets[0]?.secretArn;
      if (!arn) throw new Error(`RDS reports no managed master secret for ${rds.identifier}; manageMasterUserPassword must be true`);
      return arn;
    });
    const masterSecret = aws.secretsmanager.getSecretVersionOutput({ secretId: this.masterSecretArn }, { parent: this });

    this.host = this.instance.address;
    this.port = this.instance.port;
    this.database = rds.databaseName;
    this.adminUser = this.instance.username;
    this.adminPassword = pulumi.secret(masterSecret.secretString.apply((text) => parseMasterSecret(text).password));
    // DbiResourceId is new for every instance, even one re-created under the same identifier.
    this.identity = this.instance.resourceId;
    this.resources = [this.instance];

    const i = this.instance;
    const tlsEnforced = this.parameterGroup.parameters.apply((params) => (params ?? []).some((p) => p.name === "rds.force_ssl" && p.value === "1"));
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
      }));

    this.registerOutputs({ identity: this.identity, posture: this.posture });
  }

  /** RDS event subscriptions for instance, parameter group and security group events (Security Hub RDS.20, 21, 22). */
  private subscribeToEvents(
    name: string,
    existingTopicArn: string | undefined,
    keyArn: pulumi.Output<string> | undefined,
    accountId: pulumi.Output<string>,
    tags: Record<string, string>,
  ): void {
    let topicArn: pulumi.Input<string>;
    if (existingTopicArn) {
      topicArn = existingTopicArn;
    } else {
      const topic = new aws.sns.Topic(`${name}-events`, { ...(keyArn ? { kmsMasterKeyId: keyArn } : {}), tags }, { parent: this });
      new aws.sns.TopicPolicy(
        `${name}-events-policy`,
        {
          arn: topic.arn,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "RdsEventsOfThisAccount",
                Effect: "Allow",
                Principal: { Service: "events.rds.amazonaws.com" },
                Action: "sns:Publish",
                Resource: topic.arn,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
              },
            ],
          }),
        },
        { parent: this },
      );
      topicArn = topic.arn;
    }
    const subscriptions: [string, string, string[], pulumi.Input<string>[] | undefined][] = [
      ["instance", "db-instance", ["availability", "configuration change", "deletion", "failover", "failure", "low storage", "maintenance", "notification", "recovery"], [this.instance.identifier]],
      ["parameter-group", "db-parameter-group", ["configuration change", "maintenance"], [this.parameterGroup.name]],
      ["security-group", "db-security-group", ["configuration change", "failure"], undefined],
    ];
    for (const [suffix, sourceType, eventCategories, sourceIds] of subscriptions) {
      new aws.rds.EventSubscription(
        `${name}-${suffix}-events`,
        { snsTopic: topicArn, sourceType, eventCategories, ...(sourceIds ? { sourceIds } : {}), enabled: true, tags },
        { parent: this },
      );
    }
  }
}
