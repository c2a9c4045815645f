import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsStackSettings } from "../stacks/index.js";
import type { ControlEvidence } from "./controls.js";
import type { DatabaseNetwork } from "./network.js";
import { controlEvidence, eventSubscriptions, forcesTls, logGroups, masterCredentials, parameterGroupArgs, postureSupport, type PostureSupport } from "./rds-common.js";
import { reportedInstance } from "./reported-posture.js";
import { instancePosture, managedMasterSecret, primaryRetention, replicaRetention, securityPosture, type SecurityPosture } from "./security-posture.js";
import type { DatabaseTarget } from "./target.js";

export interface DatabaseArgs {
  settings: AwsStackSettings;
  network: DatabaseNetwork;
  tags: Record<string, string>;
}

const logGroupPrefix = (identifier: string) => `/aws/rds/instance/${identifier}`;

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
    const posture = securityPosture(settings);
    const replicaIds = Array.from({ length: rds.readReplicas }, (_, i) => `${rds.identifier}-replica-${i + 1}`);
    const support = postureSupport(name, this, {
      identifier: rds.identifier,
      region: rds.region,
      posture,
      logGroupPrefixes: [rds.identifier, ...replicaIds].map(logGroupPrefix),
      tags,
    });
    this.kmsKey = support.kmsKey;
    this.parameterGroup = new aws.rds.ParameterGroup(`${name}-params`, parameterGroupArgs(settings, `postgres${rds.engineMajor}`, tags), { parent: this });

    const shared = this.sharedInputs(args, posture, support);
    this.instance = this.primary(name, args, posture, support, shared);
    // Replicas of the primary in its region: engine, version, storage, user and subnet group come
    // from it. They take no final snapshot and keep no backups of their own (the primary's are the
    // backups); everything else is the primary's posture, Multi-AZ included (RDS.5 checks every instance).
    this.replicas = replicaIds.map((identifier, i) => {
      const resourceName = `${name}-replica-${i + 1}`;
      return new aws.rds.Instance(
        resourceName,
        { ...shared, identifier, replicateSourceDb: this.instance.identifier, ...replicaRetention(posture) },
        { parent: this, dependsOn: this.logs(resourceName, identifier, posture, support, tags), protect: posture.protectFromDeletion },
      );
    });
    const subscriptions = eventSubscriptions(name, this, {
      posture,
      support,
      tags,
      // Security Hub RDS.20, 21, 22: instance (primary and replicas), parameter group and security group events.
      sources: [
        { suffix: "instance", sourceType: "db-instance", sourceIds: [this.instance.identifier, ...this.replicas.map((r) => r.identifier)] },
        { suffix: "parameter-group", sourceType: "db-parameter-group", sourceIds: [this.parameterGroup.name] },
        { suffix: "security-group", sourceType: "db-security-group", sourceIds: undefined },
      ],
    });

    const master = masterCredentials(this, this.instance.masterUserSecrets, rds.identifier);
    this.masterSecretArn = master.secretArn;
    this.adminPassword = master.password;
    this.host = this.instance.address;
    this.port = this.instance.port;
    this.database = rds.databaseName;
    this.adminUser = this.instance.username;
    // DbiResourceId is new for every instance, even one re-created under the same identifier.
    this.identity = this.instance.resourceId;
    this.resources = [this.instance];
    const tlsEnforced = forcesTls(this.parameterGroup.parameters);
    this.posture = reportedInstance(this.instance, this.replicas, { database: rds.databaseName, masterSecretArn: this.masterSecretArn, tlsEnforced });
    this.controlEvidence = controlEvidence(this.instance.tags, network, subscriptions);
    this.registerOutputs({ identity: this.identity, posture: this.posture });
  }

  /** What the primary and its replicas share: placement, storage and the instance posture. */
  private sharedInputs({ settings, network, tags }: DatabaseArgs, posture: SecurityPosture, support: PostureSupport) {
    const rds = settings.rds;
    return {
      ...instancePosture(posture, support),
      instanceClass: rds.instanceClass,
      storageType: "gp3",
      maxAllocatedStorage: rds.maxAllocatedStorageGb,
      port: rds.port,
      vpcSecurityGroupIds: [network.securityGroupId],
      networkType: "IPV4",
      parameterGroupName: this.parameterGroup.name,
      tags,
    };
  }

  private primary(
    name: string,
    { settings, network, tags }: DatabaseArgs,
    posture: SecurityPosture,
    support: PostureSupport,
    shared: ReturnType<Database["sharedInputs"]>,
  ) {
    const rds = settings.rds;
    return new aws.rds.Instance(
      `${name}-instance`,
      {
        ...shared,
        identifier: rds.identifier,
        engine: "postgres",
        engineVersion: rds.engineVersion,
        allowMajorVersionUpgrade: false,
        allocatedStorage: rds.allocatedStorageGb,
        dbName: rds.databaseName,
        username: rds.masterUsername,
        ...managedMasterSecret(support.keyArn),
        dbSubnetGroupName: network.subnetGroupName,
        ...primaryRetention(posture),
      },
      { parent: this, dependsOn: this.logs(name, rds.identifier, posture, support, tags), protect: posture.protectFromDeletion },
    );
  }

  /** The log groups of one instance, which it must wait for. */
  private logs(resourceName: string, identifier: string, posture: SecurityPosture, support: PostureSupport, tags: Record<string, string>) {
    return logGroups(resourceName, this, { prefix: logGroupPrefix(identifier), posture, keyArn: support.keyArn, tags });
  }
}
