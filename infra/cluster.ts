import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";
import { parameterList } from "./database.js";
import type { DatabaseNetwork } from "./network.js";
import { accountContext, controlEvidence, eventTopic, forcesTls, logGroups, masterPassword, masterSecretArn, monitoringRole, stackKey, subscribe } from "./rds-common.js";
import type { DatabaseTarget } from "./target.js";
import type { ControlEvidence } from "./controls.js";

export interface AuroraClusterArgs {
  settings: AwsStackSettings;
  network: DatabaseNetwork;
  /** The AZs of the network's subnets (subnetZones): member n goes in zone (n - 1) mod their number. */
  zones: string[];
  tags: Record<string, string>;
}

/**
 * The AZs of the database's subnets, in the order the subnets are configured, each once. Config
 * validation sees only subnet ids, so a multi-AZ cluster whose subnets are all in one AZ is refused
 * here: the program awaits this before it creates anything, at preview as at up.
 */
export async function subnetZones(settings: AwsStackSettings): Promise<string[]> {
  let ids = settings.network.subnetIds;
  if (ids === undefined) {
    // dev without subnetIds: the default VPC's default subnets, the ones DatabaseNetwork takes.
    const vpcId = settings.network.vpcId ?? (await aws.ec2.getVpc({ default: true })).id;
    const found = await aws.ec2.getSubnets({
      filters: [
        { name: "vpc-id", values: [vpcId] },
        { name: "default-for-az", values: ["true"] },
      ],
    });
    ids = found.ids;
  }
  const subnets = await Promise.all(ids.map((id) => aws.ec2.getSubnet({ id })));
  const zones = [...new Set(subnets.map((s) => s.availabilityZone))];
  if (settings.rds.multiAz && zones.length < 2) {
    throw new pulumi.RunError(
      `${settings.project}:subnetIds are all in ${zones.join(", ") || "no AZ"}, and multiAz needs the cluster's members in at least two AZs; ` +
        "allowed: subnets in two or more availability zones. Nothing was deployed.",
    );
  }
  return zones;
}

/**
 * An Aurora PostgreSQL cluster held to everything prod demands of an RDS instance: storage
 * encrypted with the stack's key, no public access, IAM authentication, deletion protection,
 * backups, log exports, custom admin user and port, tags copied to snapshots, TLS forced by the
 * cluster parameter group, enhanced monitoring and Performance Insights on every member, event
 * subscriptions for the cluster and its members. Member 1 is created first, so it is the writer;
 * the readers follow, each in the next AZ of the subnets. The migrations and the verification
 * connect to the cluster (writer) endpoint, which follows the writer through a failover, so the
 * ledger and its advisory lock are always on the one instance that takes writes.
 */
export class AuroraCluster extends pulumi.ComponentResource implements DatabaseTarget {
  readonly cluster: aws.rds.Cluster;
  readonly members: aws.rds.ClusterInstance[];
  readonly parameterGroup: aws.rds.ClusterParameterGroup;
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

  constructor(name: string, args: AuroraClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pgmigrations:infra:AuroraCluster", name, {}, opts);
    const { settings, network, zones, tags } = args;
    const rds = settings.rds;
    const prod = settings.environment === "prod";
    const account = accountContext(this, rds.region);
    const logGroupPrefix = `/aws/rds/cluster/${rds.identifier}`;
    if (zones.length === 0) throw new pulumi.RunError(`${settings.project}:subnetIds: no availability zone found for the database's subnets`);

    this.kmsKey = rds.ownKmsKey ? stackKey(name, this, { identifier: rds.identifier, account, logGroupPrefixes: [logGroupPrefix], tags, protect: prod }) : undefined;
    const keyArn = this.kmsKey?.arn;

    this.parameterGroup = new aws.rds.ClusterParameterGroup(
      `${name}-cluster-params`,
      {
        family: `aurora-postgresql${rds.engineMajor}`,
        description: `${rds.identifier}: TLS forced, slow statements logged, pg_stat_statements`,
        parameters: parameterList(settings),
        tags,
      },
      { parent: this },
    );

    const monitoringRoleArn = rds.monitoringIntervalSeconds > 0 ? monitoringRole(name, this, { identifier: rds.identifier, account, tags }) : undefined;

    this.cluster = new aws.rds.Cluster(
      `${name}-cluster`,
      {
        clusterIdentifier: rds.identifier,
        engine: "aurora-postgresql",
        engineMode: "provisioned",
        engineVersion: rds.engineVersion,
        allowMajorVersionUpgrade: false,
        // Aurora upgrades minors only when the cluster and every member allow it.
        autoMinorVersionUpgrade: rds.autoMinorVersionUpgrade,
        storageEncrypted: true,
        ...(keyArn ? { kmsKeyId: keyArn } : {}),
        databaseName: rds.databaseName,
        masterUsername: rds.masterUsername,
        manageMasterUserPassword: true,
        ...(keyArn ? { masterUserSecretKmsKeyId: keyArn } : {}),
        port: rds.port,
        dbSubnetGroupName: network.subnetGroupName,
        vpcSecurityGroupIds: [network.securityGroupId],
        networkType: "IPV4",
        dbClusterParameterGroupName: this.parameterGroup.name,
        iamDatabaseAuthenticationEnabled: rds.iamAuthentication,
        deletionProtection: rds.deletionProtection,
        skipFinalSnapshot: !rds.finalSnapshot,
        ...(rds.finalSnapshot ? { finalSnapshotIdentifier: `${rds.identifier}-final` } : {}),
        deleteAutomatedBackups: !prod,
        backupRetentionPeriod: rds.backupRetentionDays,
        ...(rds.backupWindow ? { preferredBackupWindow: rds.backupWindow } : {}),
        ...(rds.maintenanceWindow ? { preferredMaintenanceWindow: rds.maintenanceWindow } : {}),
        copyTagsToSnapshot: true,
        enabledCloudwatchLogsExports: rds.logExports,
        ...(rds.serverless ? { serverlessv2ScalingConfiguration: { minCapacity: rds.serverless.minAcu, maxCapacity: rds.serverless.maxAcu } } : {}),
        applyImmediately: rds.applyImmediately,
        tags,
      },
      {
        parent: this,
        dependsOn: logGroups(name, this, { prefix: logGroupPrefix, types: rds.logExports, retentionDays: rds.logRetentionDays, keyArn, tags }),
        protect: prod,
      },
    );

    const member = (n: number, dependsOn: pulumi.Resource[]) =>
      new aws.rds.ClusterInstance(
        `${name}-member-${n}`,
        {
          identifier: `${rds.identifier}-${n}`,
          clusterIdentifier: this.cluster.id,
          engine: "aurora-postgresql",
          instanceClass: rds.instanceClass,
          availabilityZone: zones[(n - 1) % zones.length]!,
          dbSubnetGroupName: network.subnetGroupName,
          publiclyAccessible: false,
          caCertIdentifier: rds.caCertIdentifier,
          autoMinorVersionUpgrade: rds.autoMinorVersionUpgrade,
          copyTagsToSnapshot: true,
          performanceInsightsEnabled: rds.performanceInsights,
          ...(rds.performanceInsights
            ? { performanceInsightsRetentionPeriod: rds.performanceInsightsRetentionDays, ...(keyArn ? { performanceInsightsKmsKeyId: keyArn } : {}) }
            : {}),
          monitoringInterval: rds.monitoringIntervalSeconds,
          ...(monitoringRoleArn ? { monitoringRoleArn } : {}),
          ...(rds.maintenanceWindow ? { preferredMaintenanceWindow: rds.maintenanceWindow } : {}),
          applyImmediately: rds.applyImmediately,
          tags,
        },
        // Not `protect`ed: a member holds no data of its own (the cluster volume does, and the cluster
        // is protected), and fewer clusterReaders must be able to remove one.
        { parent: this, dependsOn },
      );
    // The first instance of a cluster becomes its writer: the readers wait for it.
    const writer = member(1, []);
    this.members = [writer, ...Array.from({ length: rds.clusterReaders }, (_, i) => member(i + 2, [writer]))];

    let subscriptions: aws.rds.EventSubscription[] = [];
    if (rds.eventSubscriptions) {
      const topicArn = eventTopic(name, this, { existingTopicArn: rds.eventTopicArn, keyArn, account, tags });
      subscriptions = subscribe(
        name,
        this,
        topicArn,
        [
          // Security Hub RDS.19: cluster failure and maintenance (and failover) events.
          {
            suffix: "cluster",
            sourceType: "db-cluster",
            eventCategories: ["deletion", "failover", "failure", "maintenance", "notification"],
            sourceIds: [this.cluster.clusterIdentifier],
          },
          // RDS.20: the members are DB instances.
          {
            suffix: "instance",
            sourceType: "db-instance",
            eventCategories: ["availability", "configuration change", "deletion", "failover", "failure", "low storage", "maintenance", "notification", "recovery"],
            sourceIds: this.members.map((m) => m.identifier),
          },
          // RDS.21: a cluster parameter group is no event source, and the members use RDS's default DB
          // parameter group, so this subscription covers the account's parameter groups.
          { suffix: "parameter-group", sourceType: "db-parameter-group", eventCategories: ["configuration change", "maintenance"], sourceIds: undefined },
          // RDS.22.
          { suffix: "security-group", sourceType: "db-security-group", eventCategories: ["configuration change", "failure"], sourceIds: undefined },
        ],
        tags,
      );
    }

    this.masterSecretArn = masterSecretArn(this.cluster.masterUserSecrets, rds.identifier);
    // The cluster endpoint always names the current writer; the reader endpoint never takes writes.
    this.host = this.cluster.endpoint;
    this.port = this.cluster.port;
    this.database = rds.databaseName;
    this.adminUser = this.cluster.masterUsername;
    this.adminPassword = masterPassword(this, this.masterSecretArn);
    // New for every cluster, even one re-created under the same identifier.
    this.identity = this.cluster.clusterResourceId;
    // A cluster takes connections only once its writer instance is up.
    this.resources = [this.cluster, writer];

    const c = this.cluster;
    const memberPostures = pulumi.output(this.members.map(memberPosture));
    this.posture = pulumi
      .output({
        identifier: c.clusterIdentifier,
        arn: c.arn,
        engine: c.engine,
        engineVersion: c.engineVersionActual,
        endpoint: c.endpoint,
        readerEndpoint: c.readerEndpoint,
        port: c.port,
        storageEncrypted: c.storageEncrypted,
        kmsKeyId: c.kmsKeyId,
        backupRetentionPeriod: c.backupRetentionPeriod,
        backupWindow: c.preferredBackupWindow,
        skipFinalSnapshot: c.skipFinalSnapshot,
        copyTagsToSnapshot: c.copyTagsToSnapshot,
        deletionProtection: c.deletionProtection,
        iamAuth: c.iamDatabaseAuthenticationEnabled,
        autoMinorVersionUpgrade: c.autoMinorVersionUpgrade,
        logExports: c.enabledCloudwatchLogsExports,
        username: c.masterUsername,
        masterSecretArn: this.masterSecretArn,
        tlsEnforced: forcesTls(this.parameterGroup.parameters),
        members: memberPostures,
      })
      .apply((p): Record<string, unknown> => {
        const members = p.members;
        const availabilityZones = [...new Set(members.map((m) => m.availabilityZone))];
        return {
          kind: "aurora",
          identifier: p.identifier,
          arn: p.arn,
          endpoint: { address: p.endpoint, port: p.port },
          readerEndpoint: { address: p.readerEndpoint, port: p.port },
          database: rds.databaseName,
          engine: p.engine,
          engineVersion: p.engineVersion,
          serverless: rds.serverless ? { minAcu: rds.serverless.minAcu, maxAcu: rds.serverless.maxAcu } : null,
          storage: { encrypted: p.storageEncrypted, kmsKeyArn: p.kmsKeyId ?? null },
          backups: {
            retentionDays: p.backupRetentionPeriod,
            window: p.backupWindow ?? null,
            finalSnapshot: !p.skipFinalSnapshot,
            copyTagsToSnapshot: p.copyTagsToSnapshot ?? false,
          },
          deletionProtection: p.deletionProtection ?? false,
          // What RDS.15 asks of a cluster: members in more than one AZ.
          multiAz: availabilityZones.length > 1,
          availabilityZones,
          publiclyAccessible: members.some((m) => m.publiclyAccessible),
          tlsEnforced: p.tlsEnforced,
          iamAuthentication: p.iamAuth ?? false,
          logExports: p.logExports ?? [],
          autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
          masterUser: { username: p.username, password: "managed by RDS in Secrets Manager", secretArn: p.masterSecretArn },
          members,
        };
      });

    this.controlEvidence = controlEvidence(this.cluster.tags, network, subscriptions);
    this.registerOutputs({ identity: this.identity, posture: this.posture });
  }
}

/** One member as RDS reports it: whether it is the writer now, where it is, and what Security Hub checks on it. */
interface MemberPosture {
  identifier: string;
  role: "writer" | "reader";
  endpoint: { address: string; port: number };
  instanceClass: string;
  availabilityZone: string;
  publiclyAccessible: boolean;
  storageEncrypted: boolean;
  performanceInsights: boolean;
  enhancedMonitoringSeconds: number | undefined;
  autoMinorVersionUpgrade: boolean | undefined;
  copyTagsToSnapshot: boolean;
  caCertificate: string;
}

function memberPosture(m: aws.rds.ClusterInstance): pulumi.Output<MemberPosture> {
  return pulumi
    .output({
      identifier: m.identifier,
      writer: m.writer,
      address: m.endpoint,
      port: m.port,
      instanceClass: m.instanceClass,
      availabilityZone: m.availabilityZone,
      publiclyAccessible: m.publiclyAccessible,
      storageEncrypted: m.storageEncrypted,
      performanceInsights: m.performanceInsightsEnabled,
      monitoringInterval: m.monitoringInterval,
      autoMinorVersionUpgrade: m.autoMinorVersionUpgrade,
      copyTagsToSnapshot: m.copyTagsToSnapshot,
      caCertIdentifier: m.caCertIdentifier,
    })
    .apply((p): MemberPosture => ({
      identifier: p.identifier,
      role: p.writer ? "writer" : "reader",
      endpoint: { address: p.address, port: p.port },
      instanceClass: p.instanceClass,
      availabilityZone: p.availabilityZone,
      publiclyAccessible: p.publiclyAccessible ?? false,
      storageEncrypted: p.storageEncrypted,
      performanceInsights: p.performanceInsights,
      enhancedMonitoringSeconds: p.monitoringInterval,
      autoMinorVersionUpgrade: p.autoMinorVersionUpgrade,
      copyTagsToSnapshot: p.copyTagsToSnapshot ?? false,
      caCertificate: p.caCertIdentifier,
    }));
}
