/**
 * The `controls` output: each AWS Security Hub RDS control that applies to the stack's database,
 * with its status and the settings that show it, read from the `database` posture (what the
 * resources report, not what the configuration asked for) and a few facts the posture does not
 * carry (tags, the subnet group, the event subscriptions). Pure: no Pulumi, so every status is
 * unit-tested on plain objects (test/controls.test.ts), and the audit report prints the result
 * as it is, recomputing nothing.
 */

export type ControlStatus = "met" | "not met" | "depends";
export type SettingValue = string | number | boolean | null | string[];

export interface Control {
  id: string;
  title: string;
  status: ControlStatus;
  /** The settings that show the status, as the resources report them (`storageEncrypted: true`). */
  settings: Record<string, SettingValue>;
  /** Why the settings mean that status, and what it does not cover. */
  note: string;
}

export interface ControlsOutput {
  /** The stack and its environment (dev, prod, local), as the program read them. */
  stack: string;
  environment: string;
  /** False for a database this stack does not create (the local stack's existing server). */
  applies: boolean;
  /** What the controls were evaluated on, or why none applies. */
  scope: string;
  summary: { met: number; notMet: number; depends: number };
  controls: Control[];
}

/** What the posture does not say and some controls need: read from the resources that hold it. */
export interface ControlEvidence {
  /** Tags on the instance or the cluster as the resource reports them. */
  tags: Record<string, string>;
  /** The DB subnet group the database is placed in (RDS.18, RDS.33). */
  subnetGroup: { name: string; tags: Record<string, string> } | null;
  eventSubscriptions: { sourceType: string; eventCategories: string[]; enabled: boolean }[];
}

/** Security Hub's own titles (AWS Security Hub CSPM user guide, RDS controls). */
export const CONTROL_TITLES: Record<string, string> = {
  "RDS.1": "RDS snapshot should be private",
  "RDS.2": "RDS DB Instances should prohibit public access, as determined by the PubliclyAccessible AWS Configuration",
  "RDS.3": "RDS DB instances should have encryption at-rest enabled",
  "RDS.4": "RDS cluster snapshots and database snapshots should be encrypted at rest",
  "RDS.5": "RDS DB instances should be configured with multiple Availability Zones",
  "RDS.6": "Enhanced monitoring should be configured for RDS DB instances",
  "RDS.7": "RDS clusters should have deletion protection enabled",
  "RDS.8": "RDS DB instances should have deletion protection enabled",
  "RDS.9": "RDS DB instances should publish logs to CloudWatch Logs",
  "RDS.10": "IAM authentication should be configured for RDS instances",
  "RDS.11": "RDS instances should have automatic backups enabled",
  "RDS.12": "IAM authentication should be configured for RDS clusters",
  "RDS.13": "RDS automatic minor version upgrades should be enabled",
  "RDS.15": "RDS DB clusters should be configured for multiple Availability Zones",
  "RDS.16": "RDS DB clusters should be configured to copy tags to snapshots",
  "RDS.17": "RDS DB instances should be configured to copy tags to snapshots",
  "RDS.18": "RDS instances should be deployed in a VPC",
  "RDS.19": "Existing RDS event notification subscriptions should be configured for critical cluster events",
  "RDS.20": "Existing RDS event notification subscriptions should be configured for critical database instance events",
  "RDS.21": "An RDS event notifications subscription should be configured for critical database parameter group events",
  "RDS.22": "An RDS event notifications subscription should be configured for critical database security group events",
  "RDS.23": "RDS instances should not use a database engine default port",
  "RDS.24": "RDS Database clusters should use a custom administrator username",
  "RDS.25": "RDS database instances should use a custom administrator username",
  "RDS.26": "RDS DB instances should be protected by a backup plan",
  "RDS.27": "RDS DB clusters should be encrypted at rest",
  "RDS.28": "RDS DB clusters should be tagged",
  "RDS.29": "RDS DB cluster snapshots should be tagged",
  "RDS.30": "RDS DB instances should be tagged",
  "RDS.32": "RDS DB snapshots should be tagged",
  "RDS.33": "RDS DB subnet groups should be tagged",
  "RDS.35": "RDS DB clusters should have automatic minor version upgrade enabled",
  "RDS.36": "RDS for PostgreSQL DB instances should publish logs to CloudWatch Logs",
  "RDS.38": "RDS for PostgreSQL DB instances should be encrypted in transit",
  "RDS.46": "RDS DB instances should not be deployed in public subnets with routes to internet gateways",
};

/** The controls that apply to each kind of database, in Security Hub's order. */
export const INSTANCE_CONTROLS = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 17, 18, 20, 21, 22, 23, 25, 26, 30, 32, 33, 36, 38, 46].map((n) => `RDS.${n}`);
export const CLUSTER_CONTROLS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 33, 35, 36, 38, 46].map(
  (n) => `RDS.${n}`,
);

/** Security Hub's RDS.24/25 list of default administrator names. */
const DEFAULT_ADMIN_NAMES = ["postgres", "admin", "root", "administrator", "master", "rdsadmin"];
const DEFAULT_PORT = 5432;
/** RDS.11's minimum retention. */
const MIN_BACKUP_DAYS = 7;
/** Categories each subscription control asks for. */
const REQUIRED_EVENTS: Record<string, string[]> = {
  "db-cluster": ["failure", "maintenance"],
  "db-instance": ["maintenance", "configuration change", "failure"],
  "db-parameter-group": ["maintenance", "configuration change"],
  "db-security-group": ["configuration change", "failure"],
};

type Posture = Record<string, unknown>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const rec = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
function setting(v: unknown): SettingValue {
  if (v === undefined || v === null) return null;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(String);
  return JSON.stringify(v);
}

/** One DB instance the control checks: the primary, a replica or a cluster member, with how its settings are named. */
interface Member {
  label: string;
  posture: Posture;
}

/** Every DB instance of the database: the primary and its replicas, or the cluster's members. */
function dbInstances(p: Posture): Member[] {
  if (p.kind === "aurora") return (Array.isArray(p.members) ? p.members : []).map((m) => ({ label: `${String(rec(m).identifier)}.`, posture: rec(m) }));
  return [{ label: "", posture: p }, ...(Array.isArray(p.readReplicas) ? p.readReplicas : []).map((r) => ({ label: `${String(rec(r).identifier)}.`, posture: rec(r) }))];
}

/** `field` of every instance, named `field` for the primary and `<identifier>.field` for the others. */
function eachInstance(p: Posture, name: string, read: (m: Posture) => unknown): { settings: Record<string, SettingValue>; values: unknown[] } {
  const settings: Record<string, SettingValue> = {};
  const values: unknown[] = [];
  for (const m of dbInstances(p)) {
    const value = read(m.posture);
    settings[`${m.label}${name}`] = setting(value);
    values.push(value);
  }
  return { settings, values };
}

const metIf = (ok: boolean): ControlStatus => (ok ? "met" : "not met");

function subscription(evidence: ControlEvidence, sourceType: string): { status: ControlStatus; settings: Record<string, SettingValue> } {
  const found = evidence.eventSubscriptions.filter((s) => s.sourceType === sourceType && s.enabled);
  const categories = [...new Set(found.flatMap((s) => s.eventCategories))].sort();
  // A subscription without categories receives every event of its source type.
  const covers = found.some((s) => s.eventCategories.length === 0) || REQUIRED_EVENTS[sourceType]!.every((c) => categories.includes(c));
  return { status: metIf(found.length > 0 && covers), settings: { [`eventSubscription[${sourceType}].eventCategories`]: found.length > 0 ? categories : null } };
}

type Rule = (p: Posture, e: ControlEvidence) => { status: ControlStatus; settings: Record<string, SettingValue>; note: string };

function storageSettings(p: Posture): Record<string, SettingValue> {
  const storage = rec(p.storage);
  return { storageEncrypted: setting(storage.encrypted), kmsKeyId: setting(storage.kmsKeyArn) };
}

const RULES: Record<string, Rule> = {
  "RDS.1": (p) => ({
    status: "met",
    settings: { finalSnapshot: setting(rec(p.backups).finalSnapshot) },
    note: "The stack shares no snapshot, and its final snapshot is private. Not enforced: nothing stops a person sharing one by hand.",
  }),
  "RDS.2": (p) => {
    const { settings, values } = eachInstance(p, "publiclyAccessible", (m) => m.publiclyAccessible);
    return { status: metIf(values.every((v) => v === false)), settings, note: "Every DB instance of the database is private." };
  },
  "RDS.3": (p) => {
    const storage = rec(p.storage);
    const members =
      p.kind === "aurora" ? eachInstance(p, "storageEncrypted", (m) => m.storageEncrypted) : eachInstance(p, "storageEncrypted", (m) => rec(m.storage).encrypted);
    const settings = { ...storageSettings(p), ...Object.fromEntries(Object.entries(members.settings).filter(([k]) => k !== "storageEncrypted")) };
    return { status: metIf(storage.encrypted === true && members.values.every((v) => v === true)), settings, note: "Storage encrypted with the KMS key named." };
  },
  "RDS.4": (p) => ({
    status: metIf(rec(p.storage).encrypted === true),
    settings: storageSettings(p),
    note: "Snapshots of encrypted storage are encrypted with its key.",
  }),
  "RDS.5": (p) => {
    if (p.kind === "aurora") {
      return {
        status: metIf(p.multiAz === true),
        settings: { multiAz: setting(p.multiAz), availabilityZones: setting(p.availabilityZones) },
        note: "An Aurora member has no Multi-AZ setting: the cluster is multi-AZ through members in other AZs (RDS.15).",
      };
    }
    const { settings, values } = eachInstance(p, "multiAz", (m) => m.multiAz);
    return { status: metIf(values.every((v) => v === true)), settings, note: "Multi-AZ on the instance and every replica." };
  },
  "RDS.6": (p) => {
    const { settings, values } = eachInstance(p, "monitoringInterval", (m) => m.enhancedMonitoringSeconds);
    return { status: metIf(values.every((v) => typeof v === "number" && v > 0)), settings, note: "Enhanced monitoring interval in seconds; 0 is off." };
  },
  "RDS.7": (p) => ({ status: metIf(p.deletionProtection === true), settings: { deletionProtection: setting(p.deletionProtection) }, note: "On the cluster." }),
  "RDS.8": (p) => {
    if (p.kind === "aurora") {
      return {
        status: metIf(p.deletionProtection === true),
        settings: { deletionProtection: setting(p.deletionProtection) },
        note: "Aurora members take deletion protection from their cluster (RDS.7).",
      };
    }
    const { settings, values } = eachInstance(p, "deletionProtection", (m) => m.deletionProtection);
    return { status: metIf(values.every((v) => v === true)), settings, note: "On the instance and every replica." };
  },
  "RDS.9": (p) => {
    // Aurora PostgreSQL has no upgrade log; an RDS PostgreSQL instance must export both.
    const required = p.kind === "aurora" ? ["postgresql"] : ["postgresql", "upgrade"];
    const exports =
      p.kind === "aurora"
        ? { settings: { enabledCloudwatchLogsExports: setting(p.logExports) }, values: [p.logExports] }
        : eachInstance(p, "enabledCloudwatchLogsExports", (m) => m.logExports);
    return {
      status: metIf(exports.values.every((v) => required.every((r) => strings(v).includes(r)))),
      settings: exports.settings,
      note: `Needs ${required.join(" and ")} exported to CloudWatch Logs.`,
    };
  },
  "RDS.10": (p) => {
    const iam =
      p.kind === "aurora"
        ? { settings: { iamDatabaseAuthenticationEnabled: setting(p.iamAuthentication) }, values: [p.iamAuthentication] }
        : eachInstance(p, "iamDatabaseAuthenticationEnabled", (m) => m.iamAuthentication);
    return {
      status: metIf(iam.values.every((v) => v === true)),
      settings: iam.settings,
      note: p.kind === "aurora" ? "Set on the cluster, for all its members." : "On the instance and every replica.",
    };
  },
  "RDS.11": (p) => {
    const backups = rec(p.backups);
    return {
      status: metIf(typeof backups.retentionDays === "number" && backups.retentionDays >= MIN_BACKUP_DAYS),
      settings: { backupRetentionPeriod: setting(backups.retentionDays), backupWindow: setting(backups.window) },
      note: `Automated backups kept at least ${MIN_BACKUP_DAYS} days. Read replicas keep none of their own.`,
    };
  },
  "RDS.12": (p) => ({
    status: metIf(p.iamAuthentication === true),
    settings: { iamDatabaseAuthenticationEnabled: setting(p.iamAuthentication) },
    note: "On the cluster.",
  }),
  "RDS.13": (p) => {
    const { settings, values } = eachInstance(p, "autoMinorVersionUpgrade", (m) => m.autoMinorVersionUpgrade);
    const all = p.kind === "aurora" ? { autoMinorVersionUpgrade: setting(p.autoMinorVersionUpgrade), ...settings } : settings;
    const ok = values.every((v) => v === true) && (p.kind !== "aurora" || p.autoMinorVersionUpgrade === true);
    return {
      status: metIf(ok),
      settings: all,
      note: p.kind === "aurora" ? "Aurora upgrades minors only when the cluster and every member allow it." : "On the instance and every replica.",
    };
  },
  "RDS.15": (p) => ({
    status: metIf(p.multiAz === true),
    settings: { availabilityZones: setting(p.availabilityZones) },
    note: "The members are in more than one AZ.",
  }),
  "RDS.16": (p) => ({
    status: metIf(rec(p.backups).copyTagsToSnapshot === true),
    settings: { copyTagsToSnapshot: setting(rec(p.backups).copyTagsToSnapshot) },
    note: "On the cluster.",
  }),
  "RDS.17": (p) => {
    const { settings, values } = eachInstance(p, "copyTagsToSnapshot", (m) => (m === p ? rec(p.backups).copyTagsToSnapshot : m.copyTagsToSnapshot));
    return { status: metIf(values.every((v) => v === true)), settings, note: "On every DB instance of the database." };
  },
  "RDS.18": (_p, e) => ({
    status: metIf(e.subnetGroup !== null),
    settings: { dbSubnetGroupName: e.subnetGroup?.name ?? null },
    note: "Placed in a DB subnet group of the stack's VPC.",
  }),
  "RDS.19": (_p, e) => ({ ...subscription(e, "db-cluster"), note: `Needs ${REQUIRED_EVENTS["db-cluster"]!.join(", ")} events of the cluster.` }),
  "RDS.20": (_p, e) => ({ ...subscription(e, "db-instance"), note: `Needs ${REQUIRED_EVENTS["db-instance"]!.join(", ")} events of the DB instances.` }),
  "RDS.21": (_p, e) => ({ ...subscription(e, "db-parameter-group"), note: `Needs ${REQUIRED_EVENTS["db-parameter-group"]!.join(", ")} events of parameter groups.` }),
  "RDS.22": (_p, e) => ({ ...subscription(e, "db-security-group"), note: `Needs ${REQUIRED_EVENTS["db-security-group"]!.join(", ")} events of security groups.` }),
  "RDS.23": (p) => {
    const port = rec(p.endpoint).port;
    return { status: metIf(typeof port === "number" && port !== DEFAULT_PORT), settings: { port: setting(port) }, note: `PostgreSQL's default port is ${DEFAULT_PORT}.` };
  },
  "RDS.24": (p) => adminName(p),
  "RDS.25": (p) => adminName(p),
  "RDS.26": () => ({
    status: "not met",
    settings: { backupPlan: null },
    note: "The stack creates no AWS Backup plan; add the database to your organisation's backup plan (e.g. by tag).",
  }),
  "RDS.27": (p) => ({ status: metIf(rec(p.storage).encrypted === true), settings: storageSettings(p), note: "The cluster's storage." }),
  "RDS.28": (_p, e) => tagged(e.tags, "On the cluster."),
  "RDS.29": (p) => ({
    status: metIf(rec(p.backups).copyTagsToSnapshot === true),
    settings: { copyTagsToSnapshot: setting(rec(p.backups).copyTagsToSnapshot) },
    note: "Cluster snapshots get the cluster's tags (RDS.16).",
  }),
  "RDS.30": (_p, e) => tagged(e.tags, "On the DB instance or cluster."),
  "RDS.32": (p) => ({
    status: metIf(rec(p.backups).copyTagsToSnapshot === true),
    settings: { copyTagsToSnapshot: setting(rec(p.backups).copyTagsToSnapshot) },
    note: "Snapshots get the instance's tags (RDS.17).",
  }),
  "RDS.33": (_p, e) => tagged(e.subnetGroup?.tags ?? {}, "On the DB subnet group."),
  "RDS.35": (p) => ({
    status: metIf(p.autoMinorVersionUpgrade === true),
    settings: { autoMinorVersionUpgrade: setting(p.autoMinorVersionUpgrade) },
    note: "On the cluster.",
  }),
  "RDS.36": (p) => {
    const exports =
      p.kind === "aurora"
        ? { settings: { enabledCloudwatchLogsExports: setting(p.logExports) }, values: [p.logExports] }
        : eachInstance(p, "enabledCloudwatchLogsExports", (m) => m.logExports);
    return {
      status: metIf(exports.values.every((v) => strings(v).includes("postgresql"))),
      settings: exports.settings,
      note: "The postgresql log goes to CloudWatch Logs.",
    };
  },
  "RDS.38": (p) => ({
    status: metIf(p.tlsEnforced === true),
    settings: { "rds.force_ssl": p.tlsEnforced === true ? "1" : null },
    note: "The parameter group forces TLS; the verification section shows what the server said about this report's own connection.",
  }),
  "RDS.46": () => ({
    status: "depends",
    settings: { subnets: "as configured (subnetIds)" },
    note: "Depends on the route tables of the configured subnets, which the stack does not create or check.",
  }),
};

function adminName(p: Posture): ReturnType<Rule> {
  const username = rec(p.masterUser).username;
  return {
    status: metIf(typeof username === "string" && !DEFAULT_ADMIN_NAMES.includes(username.toLowerCase())),
    settings: { masterUsername: setting(username) },
    note: "Not a default administrator name.",
  };
}

function tagged(tags: Record<string, string>, where: string): ReturnType<Rule> {
  const keys = Object.keys(tags).sort();
  return { status: metIf(keys.length > 0), settings: { tagKeys: keys }, note: where };
}

function summarise(controls: Control[]): ControlsOutput["summary"] {
  const count = (s: ControlStatus) => controls.filter((c) => c.status === s).length;
  return { met: count("met"), notMet: count("not met"), depends: count("depends") };
}

/**
 * The controls for a database posture (the `database` output) and the evidence beside it. A posture
 * that is neither an RDS instance nor an Aurora cluster (the local stack) gets none, saying why.
 */
export function securityHubControls(posture: Posture, evidence: ControlEvidence | null | undefined, context: { stack: string; environment: string }): ControlsOutput {
  const { stack, environment } = context;
  const kind = posture.kind;
  if ((kind !== "rds" && kind !== "aurora") || !evidence) {
    return {
      stack,
      environment,
      applies: false,
      scope: `${String(kind ?? "unknown database")}: the Security Hub RDS controls judge RDS resources, and this stack creates none`,
      summary: { met: 0, notMet: 0, depends: 0 },
      controls: [],
    };
  }
  const ids = kind === "aurora" ? CLUSTER_CONTROLS : INSTANCE_CONTROLS;
  const controls = ids.map((id): Control => ({ id, title: CONTROL_TITLES[id]!, ...RULES[id]!(posture, evidence) }));
  const what = kind === "aurora" ? "Aurora PostgreSQL cluster" : "RDS PostgreSQL instance";
  return { stack, environment, applies: true, scope: `${what} ${String(posture.identifier)}`, summary: summarise(controls), controls };
}
