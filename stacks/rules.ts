/**
 * The rules of this project's configuration: every key, the stacks it applies to, its type,
 * allowed values and default per environment (defaults in stacks/defaults.ts), and what prod
 * must hold. Reading goes through the generic ConfigReader; whenever a value is only wrong
 * together with another key's, the reader here calls the check for it (stacks/checks.ts).
 */
import { parseDuration } from "../migrator/durations.js";
import { PRISMA_HISTORY_MODES } from "../migrator/prisma-history.js";
import {
  checkAuroraMultiAz,
  checkCleartextOnlyToLoopback,
  checkEngineOnlyKeys,
  checkRolesDistinct,
  checkRootCert,
  checkServerlessCapacity,
  checkSomeoneMayConnect,
  checkStorageAutoscaling,
  checkSubnetsHaveVpc,
  checkTunnelTls,
} from "./checks.js";
import type { ConfigReader } from "./config-reader.js";
import { AURORA_DEFAULTS, COMMON_DEFAULTS, ENVIRONMENT_DEFAULTS, LOCAL_DEFAULTS, RDS_DEFAULTS } from "./defaults.js";
import {
  ENGINES,
  ENVIRONMENTS,
  SSL_MODES,
  type AccessSettings,
  type AwsStackSettings,
  type ConnectionSettings,
  type Engine,
  type Environment,
  type LocalStackSettings,
  type MigrationSettings,
  type NetworkSettings,
  type RdsSettings,
  type ServerlessCapacity,
  type SslMode,
} from "./types.js";

type Scope = "all" | "aws" | "local";

/** Every key of this project's namespace and the environments it applies to. */
export const CONFIG_KEYS: Record<string, Scope> = {
  environment: "all",
  namePrefix: "all",
  tags: "all",
  migrationsDir: "all",
  verifyDir: "all",
  ledgerSchema: "all",
  lockTimeout: "all",
  statementTimeout: "all",
  lintErrors: "all",
  allowRemovedMigrations: "all",
  verificationFailures: "all",
  verificationRun: "all",
  failOnDrift: "all",
  prismaHistory: "all",
  sslMode: "all",
  sslRootCert: "all",
  migratorRole: "all",
  migratorPassword: "all",
  appRole: "all",
  auditorRole: "all",
  appSchema: "all",
  immutableTables: "all",
  pgStatStatements: "all",
  migrationHost: "aws",
  migrationPort: "aws",
  vpcId: "aws",
  subnetIds: "aws",
  allowedCidrs: "aws",
  allowedSecurityGroupIds: "aws",
  engine: "aws",
  readReplicas: "aws",
  clusterReaders: "aws",
  serverlessMinAcu: "aws",
  serverlessMaxAcu: "aws",
  instanceClass: "aws",
  allocatedStorageGb: "aws",
  maxAllocatedStorageGb: "aws",
  engineVersion: "aws",
  backupRetentionDays: "aws",
  backupWindow: "aws",
  maintenanceWindow: "aws",
  multiAz: "aws",
  deletionProtection: "aws",
  finalSnapshot: "aws",
  performanceInsights: "aws",
  performanceInsightsRetentionDays: "aws",
  monitoringIntervalSeconds: "aws",
  iamAuthentication: "aws",
  logExports: "aws",
  logRetentionDays: "aws",
  slowStatementMs: "aws",
  port: "aws",
  masterUsername: "aws",
  databaseName: "aws",
  autoMinorVersionUpgrade: "aws",
  applyImmediately: "aws",
  caCertIdentifier: "aws",
  eventTopicArn: "aws",
  localHost: "local",
  localPort: "local",
  localDatabase: "local",
  localUser: "local",
  localPassword: "local",
};

/** The PostgreSQL majors RDS and Aurora PostgreSQL offer and this project supports. */
export const POSTGRES_MAJORS = [13, 14, 15, 16, 17] as const;
/** Aurora's limit of replicas per cluster; RDS for PostgreSQL's limit of read replicas per instance. */
export const MAX_READERS = 15;

/** Keys whose values are passwords: they must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["migratorPassword", "localPassword"] as const;

/**
 * What prod must hold, and why: each rule names the Security Hub control (or the reason) it
 * serves. docs/stacks.md carries the same table.
 */
export const PROD_RULES: { key: string; allowed: string; why: string; holds: (s: AwsStackSettings) => boolean }[] = [
  { key: "multiAz", allowed: "true", why: "Security Hub RDS.5", holds: (s) => s.rds.multiAz },
  { key: "deletionProtection", allowed: "true", why: "Security Hub RDS.8", holds: (s) => s.rds.deletionProtection },
  { key: "finalSnapshot", allowed: "true", why: "a deleted prod database must leave a snapshot", holds: (s) => s.rds.finalSnapshot },
  { key: "backupRetentionDays", allowed: "14 to 35", why: "Security Hub RDS.11 and the 14-day policy", holds: (s) => s.rds.backupRetentionDays >= 14 },
  { key: "performanceInsights", allowed: "true", why: "production diagnosis", holds: (s) => s.rds.performanceInsights },
  { key: "monitoringIntervalSeconds", allowed: "1, 5, 10, 15, 30 or 60", why: "Security Hub RDS.6", holds: (s) => s.rds.monitoringIntervalSeconds > 0 },
  { key: "iamAuthentication", allowed: "true", why: "Security Hub RDS.10", holds: (s) => s.rds.iamAuthentication },
  {
    key: "logExports",
    allowed: 'a list holding "postgresql" and "upgrade" (aurora-postgresql, which has no upgrade log: "postgresql")',
    why: "Security Hub RDS.9 and RDS.36",
    holds: (s) => s.rds.logExports.includes("postgresql") && (s.rds.engine === "aurora-postgresql" || s.rds.logExports.includes("upgrade")),
  },
  {
    key: "maxAllocatedStorageGb",
    allowed: "more than allocatedStorageGb",
    why: "storage autoscaling",
    // Aurora storage grows by itself; the key does not apply there.
    holds: (s) => s.rds.engine === "aurora-postgresql" || s.rds.maxAllocatedStorageGb > s.rds.allocatedStorageGb,
  },
  {
    key: "clusterReaders",
    allowed: `1 to ${MAX_READERS} with aurora-postgresql`,
    why: "Security Hub RDS.15",
    // A cluster is in a second AZ only through a reader there; multiAz alone cannot do it.
    holds: (s) => s.rds.engine !== "aurora-postgresql" || s.rds.clusterReaders >= 1,
  },
  { key: "autoMinorVersionUpgrade", allowed: "true", why: "Security Hub RDS.13", holds: (s) => s.rds.autoMinorVersionUpgrade },
  { key: "port", allowed: "1150 to 65535 except 5432", why: "Security Hub RDS.23", holds: (s) => s.rds.port !== 5432 },
  {
    key: "masterUsername",
    allowed: `a name other than ${["postgres", "admin", "root", "administrator", "master"].join(", ")}`,
    why: "Security Hub RDS.25",
    holds: (s) => !["postgres", "admin", "root", "administrator", "master"].includes(s.rds.masterUsername),
  },
  {
    key: "sslMode",
    allowed: "verify-ca or verify-full",
    why: "the commands send a password; they must know whom they send it to",
    holds: (s) => s.connection.sslMode === "verify-ca" || s.connection.sslMode === "verify-full",
  },
];

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const HOST =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^\d{1,3}(\.\d{1,3}){3}$|^\[?[0-9A-Fa-f:]+\]?$/;
const RESERVED_ROLE = /^(pg_|rds)|^(postgres|public|none|current_user|session_user)$/;
const CLOUDWATCH_RETENTION = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60];
const LOG_TYPES = ["postgresql", "upgrade", "iam-db-auth-error"];
/** Aurora PostgreSQL publishes no upgrade log. */
const AURORA_LOG_TYPES = ["postgresql", "iam-db-auth-error"];
/** RDS's class names: db.<family>.<size>. */
const INSTANCE_CLASS = /^db\.[a-z0-9-]+\.[a-z0-9]+$/;
/** What Aurora PostgreSQL runs on: memory-optimised r and x2g classes, and only medium or large burstable ones. */
const AURORA_CLASS = /^db\.(r\d+[a-z]*|x2g)\.[a-z0-9]+$|^db\.t(3|4g)\.(medium|large)$/;
const CA_CERTS = ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"];
const DAY = "(mon|tue|wed|thu|fri|sat|sun)";

const identifier = (what: string) => (v: string) =>
  IDENTIFIER.test(v) ? undefined : `"${v}" is not a plain ${what} name; allowed: lower-case letters, digits and _ (at most 63, not starting with a digit)`;

const roleName = (v: string) =>
  identifier("role")(v) ?? (RESERVED_ROLE.test(v) ? `"${v}" is reserved by PostgreSQL or RDS; allowed: any other plain role name` : undefined);

const duration = (v: string) => {
  try {
    parseDuration(v, "value");
    return undefined;
  } catch {
    return `"${v}" is not a duration; allowed: a number with ms, s, min or h (e.g. 5s), or 0 for no limit`;
  }
};

const host = (v: string) => (HOST.test(v) ? undefined : `"${v}" is not a host name or IP address`);

function cidrProblem(v: string): string | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  if (v4) {
    if (v4.slice(1, 5).some((o) => Number(o) > 255) || Number(v4[5]) > 32) return "is not a valid IPv4 CIDR";
    if (Number(v4[5]) === 0) return "would let the whole internet reach the database";
    return undefined;
  }
  const v6 = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(v);
  if (v6 && v6[1]!.includes(":") && Number(v6[2]) <= 128) {
    return Number(v6[2]) === 0 ? "would let the whole internet reach the database" : undefined;
  }
  return "is not a CIDR such as 10.0.0.0/16";
}

/** Aurora capacity units: `min` to 256 in steps of 0.5. */
const acus = (min: number) => ({ min, max: 256, step: 0.5, describe: `${min} to 256 ACUs in steps of 0.5` });

/** `serverless`: whether the ACU keys are set at all (a missing or invalid one is reported on its own key, not again on instanceClass). */
function instanceClassProblem(engine: Engine, serverless: boolean, v: string): string | undefined {
  if (engine === "postgres") {
    if (v === "db.serverless")
      return `"db.serverless" is an Aurora Serverless v2 class; allowed for an RDS PostgreSQL instance: a class such as db.t4g.micro or db.m7g.large`;
    return INSTANCE_CLASS.test(v) ? undefined : `"${v}" is not an RDS instance class; allowed: a class such as db.t4g.micro or db.m7g.large`;
  }
  if (serverless) {
    return v === "db.serverless"
      ? undefined
      : `"${v}" is a provisioned class, and serverlessMinAcu/serverlessMaxAcu make the members Serverless v2; allowed: db.serverless (or remove the ACU keys)`;
  }
  if (v === "db.serverless") return `"db.serverless" needs serverlessMinAcu and serverlessMaxAcu; set them, or choose a provisioned class such as db.r7g.large`;
  return AURORA_CLASS.test(v)
    ? undefined
    : `"${v}" is not a class Aurora PostgreSQL runs on; allowed: db.r* (such as db.r7g.large), db.x2g.*, db.t3 or db.t4g medium or large, or db.serverless with serverlessMinAcu and serverlessMaxAcu`;
}

function defaultNamePrefix(project: string, stack: string): string {
  return `${project}-${stack}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 40)
    .replace(/-+$/, "");
}

/**
 * Every key of the project's namespace that the configuration names must be in CONFIG_KEYS and
 * apply to this environment. `environment`: undefined when it could not be read (then only
 * unknown keys are reported).
 */
export function checkKeysInScope(r: ConfigReader, environment: Environment | undefined): void {
  for (const key of r.namespaceKeys()) {
    const scope = CONFIG_KEYS[key];
    if (scope === undefined) {
      const suggestion = r.suggestKey(key, Object.keys(CONFIG_KEYS));
      r.problem(key, `unknown key${suggestion ? `; did you mean ${suggestion}?` : ""} (docs/stacks.md lists every key)`);
    } else if (environment && scope === "aws" && environment === "local") {
      r.problem(key, "applies to the dev and prod stacks only (local creates nothing in AWS); remove it");
    } else if (environment && scope === "local" && environment !== "local") {
      r.problem(key, "applies to the local stack only; remove it");
    }
  }
}

/** From the stack's name when it is dev, prod or local; otherwise `environment` must say. Undefined when it cannot be told. */
export function readEnvironment(r: ConfigReader, stack: string): Environment | undefined {
  const fromStack = (ENVIRONMENTS as readonly string[]).includes(stack) ? (stack as Environment) : undefined;
  const v = r.value("environment");
  if (v === undefined) {
    if (!fromStack) r.problem("environment", `required: the stack "${stack}" is not named dev, prod or local, so say which it is; allowed: ${ENVIRONMENTS.join(", ")}`);
    return fromStack;
  }
  if ((ENVIRONMENTS as readonly string[]).includes(v)) return v as Environment;
  r.problem("environment", `"${v}" is not allowed; allowed: ${ENVIRONMENTS.join(", ")}`);
  return undefined;
}

export function readNamePrefix(r: ConfigReader, project: string, stack: string): string {
  return r.string("namePrefix", defaultNamePrefix(project, stack), (v) =>
    /^[a-z](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$/.test(v)
      ? undefined
      : `"${v}" is not allowed; allowed: 2 to 40 lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen`,
  );
}

export function readTags(r: ConfigReader): Record<string, string> {
  const tags = r.stringMap("tags", (k, v) =>
    k.toLowerCase().startsWith("aws:")
      ? `tag "${k}": the aws: prefix is reserved by AWS`
      : k.length > 128 || v.length > 256
        ? `tag "${k}": keys are at most 128 characters and values at most 256`
        : undefined,
  );
  if (Object.keys(tags).length > 40) r.problem("tags", `has ${Object.keys(tags).length} tags; allowed: at most 40 (AWS allows 50 and the stack adds its own)`);
  return tags;
}

export function readMigrations(r: ConfigReader, environment: Environment): MigrationSettings {
  const defaults = ENVIRONMENT_DEFAULTS[environment];
  return {
    dir: r.string("migrationsDir", COMMON_DEFAULTS.migrationsDir),
    verifyDir: r.string("verifyDir", COMMON_DEFAULTS.verifyDir),
    ledgerSchema: r.string("ledgerSchema", COMMON_DEFAULTS.ledgerSchema, identifier("schema")),
    lockTimeout: r.optionalString("lockTimeout", duration),
    statementTimeout: r.optionalString("statementTimeout", duration),
    lintErrors: r.oneOf("lintErrors", ["fail", "warn"] as const, defaults.lintErrors),
    allowRemovedMigrations: r.bool("allowRemovedMigrations", COMMON_DEFAULTS.allowRemovedMigrations),
    verificationFailures: r.oneOf("verificationFailures", ["fail", "warn"] as const, defaults.verificationFailures),
    verificationRun: r.optionalString("verificationRun"),
    failOnDrift: r.bool("failOnDrift", defaults.failOnDrift),
    prismaHistory: r.oneOf("prismaHistory", PRISMA_HISTORY_MODES, COMMON_DEFAULTS.prismaHistory),
  };
}

export function readConnection(r: ConfigReader, environment: Environment): ConnectionSettings {
  const allowed: readonly SslMode[] = environment === "local" ? SSL_MODES : SSL_MODES.filter((m) => m !== "disable");
  const sslMode = r.oneOf("sslMode", allowed, ENVIRONMENT_DEFAULTS[environment].sslMode);
  const sslRootCert = r.optionalString("sslRootCert");
  checkRootCert(r, sslMode, sslRootCert);
  const hostOverride = environment === "local" ? undefined : r.optionalString("migrationHost", host);
  const portOverride = environment === "local" || !r.isSet("migrationPort") ? undefined : r.int("migrationPort", 0, { min: 1, max: 65535 });
  checkTunnelTls(r, sslMode, hostOverride);
  return { sslMode, sslRootCert, hostOverride, portOverride };
}

/** `adminUser`: the role the stack itself connects as, which the three roles must not be. */
export function readAccess(r: ConfigReader, environment: Environment, adminUser: string): AccessSettings {
  const access: AccessSettings = {
    schema: r.string("appSchema", COMMON_DEFAULTS.appSchema, identifier("schema")),
    migratorRole: r.string("migratorRole", COMMON_DEFAULTS.migratorRole, roleName),
    migratorPassword: r.secret(
      "migratorPassword",
      16,
      `the migrations log in as the migrator role with this password; set it with \`pulumi config set --secret ${r.fullKey("migratorPassword")} "$(openssl rand -base64 24)"\``,
    ),
    appRole: r.string("appRole", COMMON_DEFAULTS.appRole, roleName),
    auditorRole: r.string("auditorRole", COMMON_DEFAULTS.auditorRole, roleName),
    immutableTables: r.list(
      "immutableTables",
      COMMON_DEFAULTS.immutableTables,
      (t) => (t.length > 0 && t.length <= 63 && !t.includes('"') ? undefined : "is not a table name"),
      "table names (as created, case-sensitive)",
    ),
    pgStatStatements: r.bool("pgStatStatements", ENVIRONMENT_DEFAULTS[environment].pgStatStatements),
  };
  checkRolesDistinct(r, access, adminUser);
  return access;
}

export function readNetwork(r: ConfigReader, environment: "dev" | "prod"): NetworkSettings {
  const vpcId = r.optionalString("vpcId", (v) => (/^vpc-[0-9a-f]{8,17}$/.test(v) ? undefined : `"${v}" is not a VPC id such as vpc-0123456789abcdef0`));
  const subnetIds = !r.isSet("subnetIds")
    ? undefined
    : r.list("subnetIds", [], (v) => (/^subnet-[0-9a-f]{8,17}$/.test(v) ? undefined : "is not a subnet id"), "subnet ids such as subnet-0123456789abcdef0");
  if (environment === "prod") {
    if (!r.isSet("vpcId")) r.problem("vpcId", "required in prod: the VPC of the database (prod never uses the default VPC)");
    if (!r.isSet("subnetIds")) r.problem("subnetIds", "required in prod: at least two private subnets of vpcId in different availability zones");
  }
  if (subnetIds !== undefined && subnetIds.length < 2) {
    r.problem(
      "subnetIds",
      `has ${subnetIds.length} subnet${subnetIds.length === 1 ? "" : "s"}; allowed: at least two subnets in different availability zones (RDS needs two for a subnet group)`,
    );
  }
  checkSubnetsHaveVpc(r, subnetIds, vpcId);
  const allowedCidrs = r.list("allowedCidrs", [], cidrProblem, "CIDRs such as 10.0.0.0/16 (never 0.0.0.0/0)");
  const allowedSecurityGroupIds = r.list(
    "allowedSecurityGroupIds",
    [],
    (v) => (/^sg-[0-9a-f]{8,17}$/.test(v) ? undefined : "is not a security group id"),
    "security group ids such as sg-0123456789abcdef0",
  );
  checkSomeoneMayConnect(r, allowedCidrs, allowedSecurityGroupIds);
  return { vpcId, subnetIds, allowedCidrs, allowedSecurityGroupIds };
}

/** engineVersion: a supported major (RDS picks its latest minor) or major.minor; the major names the parameter group family. */
function readEngineVersion(r: ConfigReader, fallback: string): { engineVersion: string; engineMajor: number } {
  const engineVersion = r.string("engineVersion", fallback, (v) => {
    const major = /^(\d+)(\.\d+)?$/.exec(v)?.[1];
    return major !== undefined && (POSTGRES_MAJORS as readonly number[]).includes(Number(major))
      ? undefined
      : `"${v}" is not a PostgreSQL version RDS and Aurora offer here; allowed: a major ${POSTGRES_MAJORS.join(", ")} (its latest minor) or <major>.<minor> such as 16.4`;
  });
  return { engineVersion, engineMajor: Number(engineVersion.split(".")[0]) };
}

/** Serverless v2 capacity, for aurora-postgresql with the ACU keys set; undefined otherwise or when invalid. */
function readServerless(r: ConfigReader, engine: Engine): ServerlessCapacity | undefined {
  if (engine !== "aurora-postgresql" || (!r.isSet("serverlessMinAcu") && !r.isSet("serverlessMaxAcu"))) return undefined;
  const minAcu = r.decimal("serverlessMinAcu", acus(0.5));
  const maxAcu = r.decimal("serverlessMaxAcu", acus(1));
  checkServerlessCapacity(r, minAcu, maxAcu);
  return minAcu !== undefined && maxAcu !== undefined ? { minAcu, maxAcu } : undefined;
}

export function readRds(r: ConfigReader, environment: "dev" | "prod", namePrefix: string): RdsSettings {
  const d = RDS_DEFAULTS[environment];
  const aurora = AURORA_DEFAULTS[environment];
  const region = r.value("aws:region");
  if (region === undefined) r.problem("aws:region", "required: the AWS region of the database, e.g. eu-west-1");
  const engine = r.oneOf("engine", ENGINES, d.engine);
  const isAurora = engine === "aurora-postgresql";
  checkEngineOnlyKeys(r, engine);
  const { engineVersion, engineMajor } = readEngineVersion(r, d.engineVersion);
  const serverless = readServerless(r, engine);
  const serverlessAsked = isAurora && (r.isSet("serverlessMinAcu") || r.isSet("serverlessMaxAcu"));
  const allocatedStorageGb = r.int("allocatedStorageGb", d.allocatedStorageGb, { min: 20, max: 65536 });
  const maxAllocatedStorageGb = r.int("maxAllocatedStorageGb", d.maxAllocatedStorageGb, {
    min: 0,
    max: 65536,
    describe: "0 (no storage autoscaling) or a size in GB above allocatedStorageGb, up to 65536",
  });
  checkStorageAutoscaling(r, allocatedStorageGb, maxAllocatedStorageGb);
  const readReplicas = r.int("readReplicas", d.readReplicas, { min: 0, max: MAX_READERS, describe: `0 to ${MAX_READERS} (RDS's limit of read replicas per instance)` });
  const clusterReaders = r.int("clusterReaders", aurora.clusterReaders, {
    min: 0,
    max: MAX_READERS,
    describe: `0 to ${MAX_READERS} (Aurora's limit of replicas per cluster)`,
  });
  const multiAz = r.bool("multiAz", d.multiAz);
  checkAuroraMultiAz(r, environment, engine, multiAz, clusterReaders);
  const logTypes = isAurora ? AURORA_LOG_TYPES : LOG_TYPES;
  const eventTopicArn = r.optionalString("eventTopicArn", (v) =>
    /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/.test(v) ? undefined : `"${v}" is not an SNS topic ARN`,
  );
  const defaultClass = !isAurora ? d.instanceClass : serverlessAsked ? "db.serverless" : aurora.instanceClass;
  return {
    region: region ?? "",
    identifier: namePrefix,
    engine,
    engineMajor,
    readReplicas: isAurora ? 0 : readReplicas,
    clusterReaders: isAurora ? clusterReaders : 0,
    serverless,
    instanceClass: r.string("instanceClass", defaultClass, (v) => instanceClassProblem(engine, serverlessAsked, v)),
    allocatedStorageGb,
    maxAllocatedStorageGb,
    engineVersion,
    backupRetentionDays: r.int("backupRetentionDays", d.backupRetentionDays, { min: 1, max: 35, describe: "1 to 35 days (14 or more in prod)" }),
    backupWindow:
      r.optionalString("backupWindow", (v) =>
        /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/.test(v) ? undefined : `"${v}" is not a window such as 02:00-03:00 (UTC)`,
      ) ?? d.backupWindow,
    maintenanceWindow:
      r.optionalString("maintenanceWindow", (v) =>
        new RegExp(`^${DAY}:([01]\\d|2[0-3]):[0-5]\\d-${DAY}:([01]\\d|2[0-3]):[0-5]\\d$`).test(v)
          ? undefined
          : `"${v}" is not a window such as sun:04:00-sun:05:00 (UTC)`,
      ) ?? d.maintenanceWindow,
    multiAz,
    deletionProtection: r.bool("deletionProtection", d.deletionProtection),
    finalSnapshot: r.bool("finalSnapshot", d.finalSnapshot),
    performanceInsights: r.bool("performanceInsights", d.performanceInsights),
    performanceInsightsRetentionDays: r.int("performanceInsightsRetentionDays", d.performanceInsightsRetentionDays, {
      min: 7,
      max: 731,
      allowed: [7, ...Array.from({ length: 23 }, (_, i) => 31 * (i + 1)), 731],
      describe: "7, a multiple of 31 up to 713, or 731",
    }),
    monitoringIntervalSeconds: r.int("monitoringIntervalSeconds", d.monitoringIntervalSeconds, { min: 0, max: 60, allowed: MONITORING_INTERVALS }),
    iamAuthentication: r.bool("iamAuthentication", d.iamAuthentication),
    logExports: r.list(
      "logExports",
      isAurora ? aurora.logExports : d.logExports,
      (v) => (logTypes.includes(v) ? undefined : `is not a log type ${engine} publishes`),
      logTypes.join(", "),
    ),
    logRetentionDays: r.int("logRetentionDays", d.logRetentionDays, { min: 1, max: 3653, allowed: CLOUDWATCH_RETENTION }),
    slowStatementMs: r.int("slowStatementMs", d.slowStatementMs, { min: 0, max: 3_600_000, describe: "0 (log every statement) to 3600000 ms" }),
    port: r.int("port", d.port, { min: 1150, max: 65535, describe: "1150 to 65535 (not 5432 in prod)" }),
    masterUsername: r.string("masterUsername", d.masterUsername, (v) =>
      !/^[a-z][a-z0-9_]{0,62}$/.test(v)
        ? `"${v}" is not allowed; allowed: a lower-case name starting with a letter (letters, digits, _)`
        : v === "rdsadmin" || v.startsWith("pg_")
          ? `"${v}" is reserved by RDS or PostgreSQL; allowed: any other name`
          : undefined,
    ),
    databaseName: r.string("databaseName", d.databaseName, (v) =>
      /^[a-z][a-z0-9_]{0,62}$/.test(v) && !["postgres", "template0", "template1", "rdsadmin"].includes(v)
        ? undefined
        : `"${v}" is not allowed; allowed: a lower-case name starting with a letter, not postgres, template0, template1 or rdsadmin`,
    ),
    autoMinorVersionUpgrade: r.bool("autoMinorVersionUpgrade", d.autoMinorVersionUpgrade),
    applyImmediately: r.bool("applyImmediately", d.applyImmediately),
    caCertIdentifier: r.oneOf("caCertIdentifier", CA_CERTS, d.caCertIdentifier),
    ownKmsKey: d.ownKmsKey,
    eventTopicArn,
    eventSubscriptions: d.eventSubscriptions || eventTopicArn !== undefined,
  };
}

/** The existing PostgreSQL a local stack deploys into. */
export function readLocal(r: ConfigReader, sslMode: SslMode): LocalStackSettings["local"] {
  const local = {
    host: r.required("localHost", "the host of the existing PostgreSQL, e.g. 127.0.0.1", host),
    port: r.int("localPort", LOCAL_DEFAULTS.port, { min: 1, max: 65535 }),
    database: r.required("localDatabase", "the name of the existing database the migrations go into", (v) =>
      v.length <= 63 ? undefined : `"${v}" is longer than 63 characters`,
    ),
    user: r.required("localUser", "a role of that server that may create roles (CREATEROLE), e.g. postgres", (v) =>
      v.length <= 63 ? undefined : `"${v}" is longer than 63 characters`,
    ),
    password: r.secret("localPassword", 1, `the password of localUser; set it with \`pulumi config set --secret ${r.fullKey("localPassword")} <password>\``),
  };
  checkCleartextOnlyToLoopback(r, sslMode, local.host);
  return local;
}
