import type { SecretText } from "./secret.js";

export const ENVIRONMENTS = ["dev", "prod", "local"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** libpq's sslmode values the stack accepts (the migrator and the postgresql provider share them). */
export const SSL_MODES = ["disable", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

export type FailOrWarn = "fail" | "warn";

/** How the migration and verification commands run; the same in every environment. */
export interface MigrationSettings {
  /** The set's folder, as configured (relative to the project root, or absolute). */
  dir: string;
  verifyDir: string;
  ledgerSchema: string;
  lockTimeout: string | undefined;
  statementTimeout: string | undefined;
  /** What an error-level lint finding does: fail the preview, or only warn. */
  lintErrors: FailOrWarn;
  /** Pass --ignore-unknown: tolerate ledger rows whose file was removed from the set. */
  allowRemovedMigrations: boolean;
  /** What a failed verification check does to `pulumi up`. */
  verificationFailures: FailOrWarn;
  /** Any text; changing it re-runs the verification on the next `up`. */
  verificationRun: string | undefined;
  /** Refuse to apply pending files while the schema differs from the snapshot at the applied head. */
  failOnDrift: boolean;
  /** `mirror`: every file the migrator records also gets the row Prisma would have written in `_prisma_migrations`. */
  prismaHistory: "ignore" | "mirror";
}

/** How the program's connections (migrations, verification, roles) reach the database. */
export interface ConnectionSettings {
  sslMode: SslMode;
  sslRootCert: string | undefined;
  /** A tunnel or bastion address used instead of the database's own endpoint. */
  hostOverride: string | undefined;
  portOverride: number | undefined;
}

export interface AccessSettings {
  /** The schema the migrations create their objects in. */
  schema: string;
  migratorRole: string;
  migratorPassword: SecretText;
  appRole: string;
  auditorRole: string;
  /** Append-only tables: the application may only INSERT and SELECT them. */
  immutableTables: string[];
  /** Create the pg_stat_statements extension (its library is preloaded on RDS by our parameter group). */
  pgStatStatements: boolean;
}

interface CommonSettings {
  project: string;
  stack: string;
  /** Prefix of every physical name (RDS identifier, parameter group, log groups). */
  namePrefix: string;
  /** Applied to every AWS resource, on top of project/stack/environment/managed-by. */
  tags: Record<string, string>;
  migrations: MigrationSettings;
  connection: ConnectionSettings;
  access: AccessSettings;
}

export interface NetworkSettings {
  /** Undefined in dev means the account's default VPC. */
  vpcId: string | undefined;
  /** Undefined in dev means the default VPC's default subnets. */
  subnetIds: string[] | undefined;
  allowedCidrs: string[];
  allowedSecurityGroupIds: string[];
}

/** RDS's engine names: one instance (with optional read replicas), or an Aurora cluster. */
export const ENGINES = ["postgres", "aurora-postgresql"] as const;
export type Engine = (typeof ENGINES)[number];

/** Aurora Serverless v2 capacity, in ACUs (steps of 0.5). */
export interface ServerlessCapacity {
  minAcu: number;
  maxAcu: number;
}

export interface RdsSettings {
  region: string;
  /** The RDS identifier: of the instance, or of the cluster. */
  identifier: string;
  engine: Engine;
  /** The PostgreSQL major of engineVersion (13 to 17): names the parameter group family. */
  engineMajor: number;
  /** postgres only: read replicas of the instance (0 for none). */
  readReplicas: number;
  /** aurora-postgresql only: readers besides the writer. */
  clusterReaders: number;
  /** aurora-postgresql only: set when the members are db.serverless. */
  serverless: ServerlessCapacity | undefined;
  instanceClass: string;
  allocatedStorageGb: number;
  /** 0 turns storage autoscaling off. */
  maxAllocatedStorageGb: number;
  engineVersion: string;
  backupRetentionDays: number;
  backupWindow: string | undefined;
  maintenanceWindow: string | undefined;
  multiAz: boolean;
  deletionProtection: boolean;
  finalSnapshot: boolean;
  performanceInsights: boolean;
  performanceInsightsRetentionDays: number;
  /** 0 turns enhanced monitoring off. */
  monitoringIntervalSeconds: number;
  iamAuthentication: boolean;
  logExports: string[];
  logRetentionDays: number;
  slowStatementMs: number;
  port: number;
  masterUsername: string;
  databaseName: string;
  autoMinorVersionUpgrade: boolean;
  applyImmediately: boolean;
  caCertIdentifier: string;
  /** A customer-managed KMS key of the stack's own for storage, secret, logs, Performance Insights. */
  ownKmsKey: boolean;
  /** Existing SNS topic for RDS event subscriptions; prod creates one when unset. */
  eventTopicArn: string | undefined;
  /** Whether RDS event subscriptions (Security Hub RDS.20-22) are created. */
  eventSubscriptions: boolean;
}

export interface AwsStackSettings extends CommonSettings {
  environment: "dev" | "prod";
  network: NetworkSettings;
  rds: RdsSettings;
}

export interface LocalDatabaseSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  password: SecretText;
}

export interface LocalStackSettings extends CommonSettings {
  environment: "local";
  local: LocalDatabaseSettings;
}

export type StackSettings = AwsStackSettings | LocalStackSettings;
