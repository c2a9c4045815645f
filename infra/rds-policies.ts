/**
 * The documents and lists the RDS instance (database.ts) and the Aurora cluster (cluster.ts) hand
 * to AWS: the KMS key policy, the event topic policy, the monitoring role's trust policy, the
 * parameter group's settings and the event categories each subscription asks for. Pure functions
 * of plain values, unit-tested in test/rds-policies.test.ts; the components resolve the account's
 * partition and id and pass them in.
 */
import type { AwsStackSettings } from "../stacks/index.js";

/** An IAM, KMS or SNS policy document. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Record<string, unknown>[];
}

/** Where the stack's resources live, as ARNs need it. */
export interface AccountIds {
  partition: string;
  accountId: string;
  region: string;
}

/** The ARN pattern of the log groups under a prefix (`/aws/rds/instance/<identifier>`), as CloudWatch Logs names them in its encryption context. */
export function logGroupArnPattern(account: AccountIds, prefix: string): string {
  return `arn:${account.partition}:logs:${account.region}:${account.accountId}:log-group:${prefix}/*`;
}

/**
 * The stack key's policy: the account administers it, CloudWatch Logs may encrypt the database's
 * log groups (and no others) with it, and RDS events may publish to the topic it encrypts.
 */
export function stackKeyPolicy(account: AccountIds, logGroupPrefixes: string[]): PolicyDocument {
  const logGroupArns = logGroupPrefixes.map((prefix) => logGroupArnPattern(account, prefix));
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministersTheKey",
        Effect: "Allow",
        Principal: { AWS: `arn:${account.partition}:iam::${account.accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "CloudWatchLogsEncryptsThisDatabasesLogs",
        Effect: "Allow",
        Principal: { Service: `logs.${account.region}.amazonaws.com` },
        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        Resource: "*",
        // One prefix stays a plain string, as the policy of an instance without replicas always was.
        Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": logGroupArns.length === 1 ? logGroupArns[0]! : logGroupArns } },
      },
      {
        Sid: "RdsEventsPublishToTheEncryptedTopic",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
        Resource: "*",
      },
    ],
  };
}

/** The event topic's policy: RDS may publish to it, for events of this account only. */
export function eventTopicPolicy(topicArn: string, accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RdsEventsOfThisAccount",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  };
}

/** Who may assume the enhanced-monitoring role: RDS's monitoring service. */
export function monitoringTrustPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}

/** The AWS-managed policy that lets enhanced monitoring publish. */
export function monitoringPolicyArn(partition: string): string {
  return `arn:${partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`;
}

export interface DatabaseParameter {
  name: string;
  value: string;
  /** Matters for static parameters, which take effect only after a reboot. */
  applyMethod: "immediate" | "pending-reboot";
}

/** The parameter group's settings (instance and cluster alike), as PostgreSQL names them. */
export function parameterList(settings: AwsStackSettings): DatabaseParameter[] {
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

/** The parameter group's description: what its parameters are for. */
export function parameterGroupDescription(identifier: string): string {
  return `${identifier}: TLS forced, slow statements logged, pg_stat_statements`;
}

/**
 * The event categories each subscription asks for, by RDS source type. The instance list is the
 * one Security Hub RDS.20 checks for; the cluster list RDS.19's; parameter groups RDS.21's;
 * security groups RDS.22's.
 */
export const EVENT_CATEGORIES = {
  "db-cluster": ["deletion", "failover", "failure", "maintenance", "notification"],
  "db-instance": ["availability", "configuration change", "deletion", "failover", "failure", "low storage", "maintenance", "notification", "recovery"],
  "db-parameter-group": ["configuration change", "maintenance"],
  "db-security-group": ["configuration change", "failure"],
} as const satisfies Record<string, readonly string[]>;

export type EventSourceType = keyof typeof EVENT_CATEGORIES;
