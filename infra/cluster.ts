import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";
import type { ControlEvidence } from "./controls.js";
import type { DatabaseNetwork } from "./network.js";
import { controlEvidence, eventSubscriptions, forcesTls, logGroups, masterCredentials, parameterGroupArgs, postureSupport, type PostureSupport } from "./rds-common.js";
import { reportedCluster } from "./reported-posture.js";
import { clusterPosture, managedMasterSecret, memberPosture, securityPosture, type SecurityPosture } from "./security-posture.js";
import type { DatabaseTarget } from "./target.js";

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
    if (zones.length === 0) throw new pulumi.RunError(`${settings.project}:subnetIds: no availability zone found for the database's subnets`);
    const posture = securityPosture(settings);
    const logGroupPrefix = `/aws/rds/cluster/${rds.identifier}`;
    const support = postureSupport(name, this, { identifier: rds.identifier, region: rds.region, posture, logGroupPrefixes: [logGroupPrefix], tags });
    this.kmsKey = support.kmsKey;
    this.parameterGroup = new aws.rds.ClusterParameterGroup(`${name}-cluster-params`, parameterGroupArgs(settings, `aurora-postgresql${rds.engineMajor}`, tags), {
      parent: this,
    });
    const logs = logGroups(name, this, { prefix: logGroupPrefix, posture, keyArn: support.keyArn, tags });
    this.cluster = this.clusterResource(name, args, posture, support, logs);

    // The first instance of a cluster becomes its writer: the readers wait for it.
    const writer = this.member(name, 1, args, posture, support, []);
    this.members = [writer, ...Array.from({ length: rds.clusterReaders }, (_, i) => this.member(name, i + 2, args, posture, support, [writer]))];
    const subscriptions = eventSubscriptions(name, this, {
      posture,
      support,
      tags,
      sources: [
        // Security Hub RDS.19: cluster failure and maintenance (and failover) events.
        { suffix: "cluster", sourceType: "db-cluster", sourceIds: [this.cluster.clusterIdentifier] },
        // RDS.20: the members are DB instances.
        { suffix: "instance", sourceType: "db-instance", sourceIds: this.members.map((m) => m.identifier) },
        // RDS.21: a cluster parameter group is no event source, and the members use RDS's default DB
        // parameter group, so this subscription covers the account's parameter groups.
        { suffix: "parameter-group", sourceType: "db-parameter-group", sourceIds: undefined },
        // RDS.22.
        { suffix: "security-group", sourceType: "db-security-group", sourceIds: undefined },
      ],
    });

    const master = masterCredentials(this, this.cluster.masterUserSecrets, rds.identifier);
    this.masterSecretArn = master.secretArn;
    this.adminPassword = master.password;
    // The cluster endpoint always names the current writer; the reader endpoint never takes writes.
    this.host = this.cluster.endpoint;
    this.port = this.cluster.port;
    this.database = rds.databaseName;
    this.adminUser = this.cluster.masterUsername;
    // New for every cluster, even one re-created under the same identifier.
    this.identity = this.cluster.clusterResourceId;
    // A cluster takes connections only once its writer instance is up.
    this.resources = [this.cluster, writer];
    const serverless = rds.serverless ? { minAcu: rds.serverless.minAcu, maxAcu: rds.serverless.maxAcu } : null;
    const tlsEnforced = forcesTls(this.parameterGroup.parameters);
    this.posture = reportedCluster(this.cluster, this.members, { database: rds.databaseName, masterSecretArn: this.masterSecretArn, tlsEnforced, serverless });
    this.controlEvidence = controlEvidence(this.cluster.tags, network, subscriptions);
    this.registerOutputs({ identity: this.identity, posture: this.posture });
  }

  private clusterResource(name: string, { settings, network, tags }: AuroraClusterArgs, posture: SecurityPosture, support: PostureSupport, logs: pulumi.Resource[]) {
    const rds = settings.rds;
    return new aws.rds.Cluster(
      `${name}-cluster`,
      {
        ...clusterPosture(posture, support.keyArn),
        clusterIdentifier: rds.identifier,
        engine: "aurora-postgresql",
        engineMode: "provisioned",
        engineVersion: rds.engineVersion,
        allowMajorVersionUpgrade: false,
        databaseName: rds.databaseName,
        masterUsername: rds.masterUsername,
        ...managedMasterSecret(support.keyArn),
        port: rds.port,
        dbSubnetGroupName: network.subnetGroupName,
        vpcSecurityGroupIds: [network.securityGroupId],
        networkType: "IPV4",
        dbClusterParameterGroupName: this.parameterGroup.name,
        ...(rds.serverless ? { serverlessv2ScalingConfiguration: { minCapacity: rds.serverless.minAcu, maxCapacity: rds.serverless.maxAcu } } : {}),
        tags,
      },
      { parent: this, dependsOn: logs, protect: posture.protectFromDeletion },
    );
  }

  /** Member n, in the next AZ of the subnets after member n - 1's. */
  private member(
    name: string,
    n: number,
    { settings, network, zones, tags }: AuroraClusterArgs,
    posture: SecurityPosture,
    support: PostureSupport,
    dependsOn: pulumi.Resource[],
  ) {
    const rds = settings.rds;
    return new aws.rds.ClusterInstance(
      `${name}-member-${n}`,
      {
        ...memberPosture(posture, support),
        identifier: `${rds.identifier}-${n}`,
        clusterIdentifier: this.cluster.id,
        engine: "aurora-postgresql",
        instanceClass: rds.instanceClass,
        availabilityZone: zones[(n - 1) % zones.length]!,
        dbSubnetGroupName: network.subnetGroupName,
        tags,
      },
      // Not `protect`ed: a member holds no data of its own (the cluster volume does, and the cluster
      // is protected), and fewer clusterReaders must be able to remove one.
      { parent: this, dependsOn },
    );
  }
}
