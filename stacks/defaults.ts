import type { FailOrWarn, SslMode } from "./types.js";

/** Defaults shared by every environment. */
export const COMMON_DEFAULTS = {
  migrationsDir: "sql/migrations",
  verifyDir: "sql/verify",
  /** The migrator's own default, so `npm start` and the stacks keep the ledger in the same place. */
  ledgerSchema: "migrator",
  allowRemovedMigrations: false,
  /** Prisma's table is read to adopt a database Prisma migrated, never written unless asked (mirror). */
  prismaHistory: "ignore",
  appSchema: "public",
  migratorRole: "migrator",
  appRole: "app",
  auditorRole: "auditor",
  /** The point ledger is append-only: the application may add and read rows, never change them. */
  immutableTables: ["PointTransaction"],
} as const;

interface PerEnvironment {
  lintErrors: FailOrWarn;
  verificationFailures: FailOrWarn;
  /** `apply --fail-on-drift`: stop before any pending file when the schema drifted from its snapshot. */
  failOnDrift: boolean;
  sslMode: SslMode;
  pgStatStatements: boolean;
}

export const ENVIRONMENT_DEFAULTS: Record<"dev" | "prod" | "local", PerEnvironment> = {
  // dev: encrypted but not verified, so a fresh laptop needs no CA bundle.
  dev: { lintErrors: "warn", verificationFailures: "warn", failOnDrift: false, sslMode: "require", pgStatStatements: true },
  // prod: the commands carry a password, so they verify who they talk to.
  prod: { lintErrors: "fail", verificationFailures: "fail", failOnDrift: true, sslMode: "verify-full", pgStatStatements: true },
  // local: a laptop Postgres usually has no TLS; pg_stat_statements may not be installed.
  local: { lintErrors: "warn", verificationFailures: "warn", failOnDrift: false, sslMode: "disable", pgStatStatements: false },
};

/** RDS settings per environment: dev small and disposable, prod hardened. */
export const RDS_DEFAULTS = {
  dev: {
    engine: "postgres",
    readReplicas: 0,
    instanceClass: "db.t4g.micro",
    allocatedStorageGb: 20,
    maxAllocatedStorageGb: 0,
    engineVersion: "17",
    backupRetentionDays: 1,
    backupWindow: undefined,
    maintenanceWindow: undefined,
    multiAz: false,
    deletionProtection: false,
    finalSnapshot: false,
    performanceInsights: false,
    performanceInsightsRetentionDays: 7,
    monitoringIntervalSeconds: 0,
    iamAuthentication: false,
    logExports: [] as string[],
    logRetentionDays: 7,
    slowStatementMs: 250,
    port: 5432,
    masterUsername: "dbadmin",
    databaseName: "app",
    autoMinorVersionUpgrade: true,
    applyImmediately: true,
    caCertIdentifier: "rds-ca-rsa2048-g1",
    ownKmsKey: false,
    eventSubscriptions: false,
  },
  prod: {
    engine: "postgres",
    readReplicas: 0,
    instanceClass: "db.m7g.large",
    allocatedStorageGb: 100,
    maxAllocatedStorageGb: 1000,
    engineVersion: "17",
    backupRetentionDays: 14,
    backupWindow: "02:00-03:00",
    maintenanceWindow: "sun:04:00-sun:05:00",
    multiAz: true,
    deletionProtection: true,
    finalSnapshot: true,
    performanceInsights: true,
    performanceInsightsRetentionDays: 7,
    monitoringIntervalSeconds: 60,
    iamAuthentication: true,
    logExports: ["postgresql", "upgrade"],
    logRetentionDays: 365,
    slowStatementMs: 1000,
    port: 5433,
    masterUsername: "dbadmin",
    databaseName: "app",
    autoMinorVersionUpgrade: true,
    applyImmediately: false,
    caCertIdentifier: "rds-ca-rsa2048-g1",
    ownKmsKey: true,
    eventSubscriptions: true,
  },
} as const;

/**
 * What differs for an Aurora PostgreSQL cluster: Aurora has no db.t4g.micro or db.m classes, and
 * exports only the postgresql log (no upgrade log). prod keeps one reader, so the cluster is in a
 * second AZ (Security Hub RDS.15) and a failover has an instance to promote.
 */
export const AURORA_DEFAULTS = {
  dev: { instanceClass: "db.t4g.medium", clusterReaders: 0, logExports: [] as string[] },
  prod: { instanceClass: "db.r7g.large", clusterReaders: 1, logExports: ["postgresql"] },
} as const;

export const LOCAL_DEFAULTS = {
  port: 5432,
} as const;
